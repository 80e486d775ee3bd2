#!/usr/bin/env bash
# The demo data of `make run` (run.sh calls it once the suite is healthy; it
# can also be run on its own against a running suite):
#
#   1. two demo source databases on the MariaDB at DB_HOST:DB_PORT, built
#      from text that ships with Debian (gateway/cmd/altus-demo load):
#        altus_demo_packages    packages: every package apt knows (apt-cache
#                               dumpavail) with its long description from apt's
#                               Translation-en lists; FULLTEXT(summary,
#                               description) and FULLTEXT(name, summary)
#        altus_demo_changelogs  changelog_entries: /usr/share/doc/*/changelog.Debian.gz,
#                               one row per entry; FULLTEXT(body), FULLTEXT(package,
#                               body); doc_files: copyright and README files, with
#                               no FULLTEXT index (for analyze to advise one)
#      Skipped when they already hold the expected rows. When the
#      Translation-en lists are missing (Acquire::Languages "none"), fetches
#      them once with `apt-get update -o Acquire::Languages=en` (root or sudo;
#      it needs Debian's mirror) and falls back to the short descriptions if
#      that fails;
#   2. a read-only MySQL account, altus_demo, allowed SELECT on both;
#   3. through the REST API: the demo user (registered, or logged in), both
#      databases registered with the read-only account, an API key with the
#      search and analytics permissions; all written to .run/demo.env;
#   4. the API key and curl examples printed.
#
# Environment:
#   ALTUS_DEMO=0                 skip the demo data entirely
#   ALTUS_DEMO_RELOAD=1          rebuild the demo databases even when loaded
#   ALTUS_DEMO_TRANSLATIONS=0    never run apt-get update for the long descriptions
#   ALTUS_DEMO_EMAIL             the demo user (demo@altus.local)
#   DB_HOST, DB_PORT, DB_USERNAME, DB_PASSWORD   the server (an account that can
#                                create databases and users; root by default)
# The demo user's password (ALTUS_DEMO_PASSWORD) and the read-only account's
# (ALTUS_DEMO_DB_PASSWORD) are generated once into .run/secrets.env.
# Where apt-cache is not available, says so and does nothing.
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

if [ "${ALTUS_DEMO:-1}" = 0 ]; then
	say "ALTUS_DEMO=0: no demo data"
	exit 0
fi
if ! command -v apt-cache >/dev/null 2>&1; then
	say "demo data skipped: apt-cache is not available on this machine (the demo databases are built from Debian's package lists)"
	exit 0
fi

export DB_HOST=${DB_HOST:-127.0.0.1} DB_PORT=${DB_PORT:-3306} DB_USERNAME=${DB_USERNAME:-root}
export DB_PASSWORD=${DB_PASSWORD:-} DB_DATABASE=${DB_DATABASE:-altus4}
EMAIL=${ALTUS_DEMO_EMAIL:-$(sed -n 's/^ALTUS_DEMO_EMAIL=//p' "$RUN_DIR/secrets.env" 2>/dev/null | tail -n 1)}
EMAIL=${EMAIL:-demo@altus.local}
URL=http://127.0.0.1:$GATEWAY_PORT
GRPC=127.0.0.1:${GRPC_PORT[search]}
LISTS=/var/lib/apt/lists

# --- secrets, generated once -------------------------------------------------
mkdir -p "$RUN_DIR"
secrets=$RUN_DIR/secrets.env
ALTUS_DEMO_PASSWORD=${ALTUS_DEMO_PASSWORD:-$(secret ALTUS_DEMO_PASSWORD)}
ALTUS_DEMO_DB_PASSWORD=${ALTUS_DEMO_DB_PASSWORD:-$(secret ALTUS_DEMO_DB_PASSWORD)}
export ALTUS_DEMO_PASSWORD ALTUS_DEMO_DB_PASSWORD

# --- the tool ----------------------------------------------------------------
mkdir -p "$BIN_DIR"
go build -o "$BIN_DIR/" ./gateway/cmd/altus-demo
demo=$BIN_DIR/altus-demo

# --- 1. the databases ----------------------------------------------------------
load_args=()
[ "${ALTUS_DEMO_RELOAD:-0}" = 0 ] || load_args+=(-force)
needed=0
"$demo" load -check "${load_args[@]}" || needed=$?
case $needed in
0) ;;
3)
	have_translations() { compgen -G "$LISTS/*_i18n_Translation-en*" >/dev/null; }
	if ! have_translations && [ "${ALTUS_DEMO_TRANSLATIONS:-1}" != 0 ]; then
		say "demo: apt has no English long descriptions (Acquire::Languages \"none\"): fetching them once with"
		say "      apt-get update -o Acquire::Languages=en   (Debian's mirror; also refreshes the package lists)"
		runner=()
		if [ "$(id -u)" -ne 0 ]; then
			if command -v sudo >/dev/null 2>&1; then runner=(sudo); else runner=(false); fi
		fi
		log=$RUN_DIR/demo-apt.log
		if ! "${runner[@]}" apt-get update -q -o Acquire::Languages=en >"$log" 2>&1 || ! have_translations; then
			say "demo: could not fetch them (see ${log#"$ROOT"/}): loading the short descriptions only"
		fi
	fi
	say "demo: building the demo databases from Debian's package lists and /usr/share/doc (once; about 15 s)"
	;;
*) die "demo: could not check the demo databases (output above)" ;;
esac
"$demo" load "${load_args[@]}"

# --- 2. the demo user, its sources and API key -------------------------------------
say "demo: provisioning $EMAIL through $URL"
status=0
"$demo" provision -url "$URL" -grpc "$GRPC" -email "$EMAIL" -out "$RUN_DIR/demo.env" || status=$?
if [ "$status" = 4 ] && [ -z "${ALTUS_DEMO_EMAIL:-}" ]; then
	# The user exists with a password this checkout does not know (a fresh
	# clone against an old metadata database): use a user of its own, kept.
	EMAIL="demo-$(random_hex 3)@altus.local"
	(
		umask 077
		printf 'ALTUS_DEMO_EMAIL=%s\n' "$EMAIL" >>"$secrets"
	)
	say "demo: provisioning $EMAIL instead (recorded in ${secrets#"$ROOT"/})"
	status=0
	"$demo" provision -url "$URL" -grpc "$GRPC" -email "$EMAIL" -out "$RUN_DIR/demo.env" || status=$?
fi
[ "$status" = 0 ] || exit "$status"
# shellcheck source=/dev/null
source "$RUN_DIR/demo.env"
KEY=${ALTUS_DEMO_API_KEY%%,*}
PKG=$ALTUS_DEMO_PACKAGES_ID
CHL=$ALTUS_DEMO_CHANGELOGS_ID

cat <<EOF

Demo data: $EMAIL (password in ${secrets#"$ROOT"/}) has two databases registered,
  "Debian packages"   id $PKG  (altus_demo_packages.packages)
  "Debian changelogs" id $CHL  (altus_demo_changelogs.changelog_entries, doc_files)
and an API key (search + analytics, free tier: 1,000 requests an hour):

  export ALTUS_KEY=$KEY

(everything is in ${RUN_DIR#"$ROOT"/}/demo.env:  source ${RUN_DIR#"$ROOT"/}/demo.env)

  # natural language over both databases
  curl -s -X POST $URL/api/v1/search -H "Authorization: Bearer \$ALTUS_KEY" -H 'Content-Type: application/json' \\
    -d '{"query":"web server","searchMode":"natural","limit":5}'
  # boolean mode: a phrase, a required and an excluded term, on the packages only
  curl -s -X POST $URL/api/v1/search -H "Authorization: Bearer \$ALTUS_KEY" -H 'Content-Type: application/json' \\
    -d '{"query":"\"web server\" +proxy -apache","searchMode":"boolean","databases":["$PKG"],"limit":5}'
  # paging; and query expansion on the changelogs (expansion re-searches with the
  # words of the best rows: slow on the long package descriptions)
  curl -s -X POST $URL/api/v1/search -H "Authorization: Bearer \$ALTUS_KEY" -H 'Content-Type: application/json' \\
    -d '{"query":"chess","limit":5,"offset":5}'
  curl -s -X POST $URL/api/v1/search -H "Authorization: Bearer \$ALTUS_KEY" -H 'Content-Type: application/json' \\
    -d '{"query":"openssl","searchMode":"expansion","databases":["$CHL"],"limit":5}'
  # semantic: candidates re-ranked by embeddings with OPENAI_API_KEY set; without a provider, ranked by full text, expansion and stemmed variants
  curl -s -X POST $URL/api/v1/search -H "Authorization: Bearer \$ALTUS_KEY" -H 'Content-Type: application/json' \\
    -d '{"query":"tools to compress files","searchMode":"semantic","limit":5}'
  # the changelogs: security fixes
  curl -s -X POST $URL/api/v1/search -H "Authorization: Bearer \$ALTUS_KEY" -H 'Content-Type: application/json' \\
    -d '{"query":"+security +CVE","searchMode":"boolean","databases":["$CHL"],"tables":["changelog_entries"],"limit":5}'
  # suggestions, history
  curl -s "$URL/api/v1/search/suggestions?query=pyth" -H "Authorization: Bearer \$ALTUS_KEY"
  curl -s "$URL/api/v1/search/history?limit=5" -H "Authorization: Bearer \$ALTUS_KEY"
  # analyze: the statements Altus runs, and the FULLTEXT index doc_files lacks
  curl -s -X POST $URL/api/v1/search/analyze -H "Authorization: Bearer \$ALTUS_KEY" -H 'Content-Type: application/json' \\
    -d '{"query":"license","databases":["$CHL"]}'
  # the same search over gRPC, straight to the search service
  .bin/grpcurl -plaintext -H "authorization: Bearer \$ALTUS_KEY" -d '{"query":"web server","limit":3}' \\
    $GRPC altus.search.v1.SearchService/Search      (make grpcurl builds .bin/grpcurl)

Load test: make bench   (see README, "Load testing")
EOF
