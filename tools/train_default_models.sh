#!/usr/bin/env bash
# Train and evaluate cae, baseline and rnn on the emoMusic mini set (10 clips):
# one model per network on the development clips (8; 1-2 of them for validation),
# evaluated on the 2 evaluation clips, plus leave-one-song-out over all 10.
# Usage: tools/train_default_models.sh DATA_DIR OUT_DIR [MODEL...]
set -euo pipefail
DATA=${1:?emoMusic folder}; OUT=${2:?output folder}; shift 2
MODELS=${*:-cae baseline rnn}
mkdir -p "$OUT"
for m in $MODELS; do
  case $m in
    cae) EP=60; PAT=20;;      # ~1.6 s/epoch on 2 CPU cores
    rnn) EP=100; PAT=25;;
    *) EP=200; PAT=30;;
  esac
  emotrack train --data "emomusic:$DATA" --model "$m" --epochs $EP --patience $PAT --seed 0 \
      --out "$OUT/$m.emotrack.safetensors" --quiet
  emotrack evaluate "$OUT/$m.emotrack.safetensors" --data "emomusic:$DATA" --split evaluation \
      --out "$OUT/$m-eval" --quiet > /dev/null
  emotrack evaluate --loso --data "emomusic:$DATA" --model "$m" --epochs $EP --patience $PAT \
      --seed 0 --out "$OUT/$m-loso" --quiet > /dev/null
done
