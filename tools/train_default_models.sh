#!/usr/bin/env bash
# Train the shipped rnn, cae and baseline checkpoints (issue 22): each network is first
# cross-validated on 4 folds grouped by track (Emotify, emoMusic) and by artist (4Q), then
# trained on every labelled track; the held-out figures, the folds, the tracks it learned
# from and its display scale go into the checkpoint's facts (assets/MODEL_CARD.md).
#
# Usage: tools/train_default_models.sh EMOTIFY_DIR FOURQ_DIR EMOMUSIC_DIR OUT_DIR [MODEL...]
#   EMOTIFY_DIR  ../shared/data/emotify-dev
#   FOURQ_DIR    a folder with 4q-dev's labels.csv and the clips at its `path`s
#                (e.g. links to ../shared/data/4q-dev/labels.csv and MER_audio_taffc_dataset/)
#   EMOMUSIC_DIR ../shared/data/emomusic-mini
# The settings are the shipped ones: cae Adam 1e-3, <= 20 epochs; rnn and baseline <= 15
# epochs; patience 5; seed 0. One process per network, one torch thread each, niced,
# side by side; /usr/bin/time prints each one's wall and CPU time.
set -euo pipefail
EMOTIFY=${1:?Emotify folder}; FOURQ=${2:?4Q folder}; EMOMUSIC=${3:?emoMusic folder}; OUT=${4:?output folder}
shift 4
MODELS=${*:-cae rnn baseline}
mkdir -p "$OUT"
for m in $MODELS; do
  case $m in
    cae) EXTRA=(--lr 1e-3 --epochs 20);;
    *) EXTRA=(--epochs 15);;
  esac
  OMP_NUM_THREADS=1 nice -n 10 /usr/bin/time -f "$m: %e s wall, %U s user" \
    emotrack train --model "$m" --data "emotify:$EMOTIFY" --data "4q:$FOURQ" --data "emomusic:$EMOMUSIC" \
      --folds 4 --patience 5 --seed 0 "${EXTRA[@]}" --out "$OUT/$m.emotrack.safetensors" --quiet &
done
wait
