from fixtures_model import *  # noqa
