"""One record per annotated song, shared by every dataset reader.

Every reader (emoMusic, DEAM, PMEmo) returns :class:`SongItem` objects whose
targets are already mapped to [-1, 1] and aligned to the model's frame grid:
``arousal[i]`` is the human rating of frame ``first_frame + i``, i.e. of the
audio in ``[(first_frame+i) * 0.5, (first_frame+i+1) * 0.5)`` seconds with the
default :data:`~emotrack.model.features.CAE_SPEC`.  Unrated frames inside a
song's range are NaN (masked by losses and metrics).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Split names used by the readers.
DEVELOPMENT = "development"
EVALUATION = "evaluation"


@dataclass(frozen=True, eq=False)
class SongItem:
    """Annotations of one song on the model's frame grid.

    Attributes
    ----------
    song_id : str
        The dataset's own song id, as text (``"2"``, ``"1001"``).
    audio_path : pathlib.Path
        Where the song's audio should be (it may be missing: readers report it).
    arousal, valence : np.ndarray, shape=(n,), float32 in [-1, 1]
        Mean human rating of frames ``first_frame .. first_frame + n - 1``; NaN = unrated.
    arousal_std, valence_std : np.ndarray, shape=(n,), float32, or None
        The raters' standard deviation on the same [-1, 1] scale, where the dataset gives it.
    split : str
        ``"development"`` or ``"evaluation"`` (the dataset's official split where it has one).
    first_frame : int
        Frame index of ``arousal[0]``.
    dataset : str
        Reader name (``"emomusic"``, ``"deam"``, ``"pmemo"``; ``"emotify"``, ``"4q"`` for a
        song-level label spread over every frame, :mod:`emotrack.train.song_targets`).
    group : str
        What cross-validation and validation carving keep together (the artist of a 4Q
        clip); ``""`` means the song alone (:attr:`fold_group`).
    song_level : bool
        The targets are one song-level label repeated on every frame (Emotify, 4Q), not a
        2 Hz curve: training draws its windows anywhere in the track.
    """

    song_id: str
    audio_path: Path
    arousal: np.ndarray
    valence: np.ndarray
    arousal_std: np.ndarray | None
    valence_std: np.ndarray | None
    split: str
    first_frame: int
    dataset: str = ""
    group: str = ""
    song_level: bool = False

    @property
    def fold_group(self) -> str:
        """The key folds and validation splits keep together: :attr:`group`, else :attr:`key`."""
        return self.group or self.key

    @property
    def n_frames(self) -> int:
        """Number of annotated frames (including NaN gaps)."""
        return int(self.arousal.shape[0])

    @property
    def key(self) -> str:
        """Unique key across datasets (``"emomusic:2"``)."""
        return f"{self.dataset}:{self.song_id}"

    def targets(self) -> np.ndarray:
        """Targets as shape=(n, 2), columns (arousal, valence)."""
        return np.stack([self.arousal, self.valence], axis=1)

    def cropped(self, n_available: int) -> "SongItem":
        """A copy keeping only frames ``< n_available`` (frames the audio really has)."""
        keep = max(0, min(self.n_frames, n_available - self.first_frame))
        cut = lambda a: None if a is None else a[:keep]  # noqa: E731
        return SongItem(self.song_id, self.audio_path, self.arousal[:keep], self.valence[:keep],
                        cut(self.arousal_std), cut(self.valence_std), self.split,
                        self.first_frame, self.dataset, self.group, self.song_level)


@dataclass
class LoadedDataset:
    """What a reader found: usable songs plus everything it had to skip, with reasons.

    Attributes
    ----------
    name : str
        Reader name.
    root : pathlib.Path
    items : list[SongItem]
        Annotated songs (with or without audio; see :attr:`missing_audio`).
    missing_audio : list[str]
        Song ids whose audio file does not exist.
    problems : list[str]
        One human-readable line per skipped row or song (malformed CSV rows ...).
    """

    name: str
    root: Path
    items: list[SongItem] = field(default_factory=list)
    missing_audio: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def with_audio(self) -> list[SongItem]:
        """The items whose audio file exists."""
        missing = set(self.missing_audio)
        return [it for it in self.items if it.song_id not in missing]

    def split(self, name: str, *, audio_only: bool = True) -> list[SongItem]:
        """Items of one split (``"development"`` / ``"evaluation"``)."""
        pool = self.with_audio() if audio_only else self.items
        return [it for it in pool if it.split == name]

    def summary(self) -> str:
        """One line: counts per split, missing audio and problems."""
        return self._summary("annotated songs", [it.split for it in self.items])

    def _summary(self, what: str, kinds: list[str]) -> str:
        counts: dict[str, int] = {}
        for kind in kinds:
            counts[kind] = counts.get(kind, 0) + 1
        parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        return (f"{self.name} ({self.root}): {len(kinds)} {what} ({parts}); "
                f"{len(kinds) - len(self.missing_audio)} with audio, "
                f"{len(self.missing_audio)} without; {len(self.problems)} problem(s)")


@dataclass(frozen=True, eq=False)
class SongLabels:
    """Song-level labels of one track (no 2 Hz curve): e.g. an Emotify track.

    Attributes
    ----------
    song_id : str
        The dataset's own track id, as text.
    audio_path : pathlib.Path
        Where the track's audio should be (it may be missing: readers report it).
    genre : str
        The track's genre (``""`` when the dataset has none); song-level figures are
        also given within genre.
    n_raters : int
        Number of raters (rating sessions) behind the labels.
    labels : dict[str, float]
        Label name -> value on the dataset's own scale (NaN where unknown).
    dataset : str
        Reader name.
    artist : str
        The performing artist where the dataset names one (``""`` otherwise):
        cross-validation keeps an artist's songs in one fold.
    """

    song_id: str
    audio_path: Path
    genre: str
    n_raters: int
    labels: dict[str, float]
    dataset: str = ""
    artist: str = ""

    @property
    def group(self) -> str:
        """What cross-validation keeps together: the artist where known, else the track."""
        return f"{self.dataset}:artist:{self.artist}" if self.artist else self.key

    @property
    def key(self) -> str:
        """Unique key across datasets (``"emotify:101"``)."""
        return f"{self.dataset}:{self.song_id}"


@dataclass
class SongLabelDataset(LoadedDataset):
    """A dataset with song-level labels only (:attr:`songs`); :attr:`items` stays empty.

    Training and the 2 Hz evaluation need curves and refuse it with a clear message;
    the song-level evaluation (:mod:`emotrack.train.emotify`) reads :attr:`songs`.
    """

    songs: list[SongLabels] = field(default_factory=list)
    label_names: tuple[str, ...] = ()

    def songs_with_audio(self) -> list[SongLabels]:
        """The songs whose audio file exists."""
        missing = set(self.missing_audio)
        return [s for s in self.songs if s.song_id not in missing]

    def summary(self) -> str:
        """One line: songs, genres, missing audio and problems."""
        return self._summary("songs with song-level labels", [s.genre or "no genre" for s in self.songs])
