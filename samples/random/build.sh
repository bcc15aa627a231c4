#!/bin/sh
# Non-deterministic sample: random.bin comes from /dev/urandom, so two rebuilds disagree on it
# (and only on it); stable.txt is the control that must agree.
set -eu
mkdir -p out
printf 'this file is the same in every rebuild\n' > out/stable.txt
head -c 64 /dev/urandom > out/random.bin
