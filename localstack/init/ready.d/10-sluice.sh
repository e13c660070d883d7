#!/usr/bin/env bash
# Runs inside LocalStack once it is ready. NOT TESTED here (no Docker on these machines).
# Creates what `make local` creates, for trying the functions without deploying the CDK stack;
# `make local-deploy` creates the full stack instead.
set -euo pipefail
awslocal kinesis create-stream --stream-name sluice-events --shard-count 2 || true
for b in raw cleansed curated quarantine lineage; do
  awslocal s3 mb "s3://$b" || true
done
echo "sluice: stream sluice-events and buckets raw, cleansed, curated, quarantine, lineage ready"
