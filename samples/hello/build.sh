#!/bin/sh
# Deterministic sample: every output depends only on the inputs and the recorded SOURCE_DATE_EPOCH.
set -eu
mkdir -p out/doc
printf 'Hello from rbnet. SOURCE_DATE_EPOCH=%s\n' "$SOURCE_DATE_EPOCH" > out/hello.txt
tr 'a-z' 'A-Z' < message.txt > out/doc/MESSAGE.txt
sha256sum message.txt | cut -d ' ' -f 1 > out/message.sha256
