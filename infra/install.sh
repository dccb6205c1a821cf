#!/usr/bin/env bash
# Installs what a fresh Debian 12 needs for Filmo; every step is skipped when already done.
#   apt (PostGIS, Redis) -> .venv (pip install -e '.[dev]') -> OpenSearch jars (Maven)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

step() { say "$1"; _t0=$SECONDS; }
done_step() { say "  done in $((SECONDS - _t0)) s"; }

# --- 1. Debian packages --------------------------------------------------------
# dpkg -s is instant; apt-get update/install run only when something is missing.
# haproxy: the sticky load balancer for several API processes (infra/lb.sh, FILMO_API_PROCESSES=N).
# chromium + fonts-dejavu-core: the browser tests of the discovery page (tests/browser, Playwright drives this
# system browser; nothing downloads one).
APT_PKGS=(postgresql-15 postgresql-15-postgis-3 redis-server redis-tools curl maven openjdk-17-jre-headless haproxy chromium fonts-dejavu-core)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
# Debian's own python3 needs python3-venv for `python3 -m venv` (a pyenv python does not).
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if ((${#missing[@]})); then
  step "apt: installing ${missing[*]}"
  [[ $EUID -eq 0 ]] || die "apt packages missing (${missing[*]}) and not root: install them or rerun as root"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # The packages try to start their default services via invoke-rc.d; without an
  # init system that is a harmless no-op. We run our own instances on other ports.
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  done_step
else
  say "apt: all packages present"
fi

# --- 2. Python virtualenv --------------------------------------------------------
# Reinstall only when pyproject.toml changed (its hash is kept in .venv/.pyproject.sha).
if [[ ! -f "$ROOT/pyproject.toml" ]]; then
  warn "python: no pyproject.toml yet, skipping the virtualenv"
else
  [[ -x "$ROOT/.venv/bin/python" ]] || { step "python: creating .venv"; python3 -m venv "$ROOT/.venv"; done_step; }
  sha="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
  if [[ "$(cat "$ROOT/.venv/.pyproject.sha" 2>/dev/null)" != "$sha" ]]; then
    step "python: pip install -e '.[dev]' (pyproject.toml changed)"
    "$ROOT/.venv/bin/pip" install -q --disable-pip-version-check -e "${ROOT}[dev]"
    echo "$sha" > "$ROOT/.venv/.pyproject.sha"
    done_step
  else
    say "python: .venv up to date"
  fi
fi

# --- 3. OpenSearch jars ------------------------------------------------------------
# infra/opensearch/pom.xml only resolves jars; copy them to lib/ when lib/ is missing or
# the pom changed (hash kept in lib/.pom.sha).
OS_DIR="$ROOT/infra/opensearch"
sha="$(sha256sum "$OS_DIR/pom.xml" | cut -d' ' -f1)"
if [[ "$(cat "$OS_DIR/lib/.pom.sha" 2>/dev/null)" != "$sha" ]]; then
  step "opensearch: resolving jars with Maven into infra/opensearch/lib"
  rm -rf "${OS_DIR:?}/lib"
  mkdir -p "$LOGS"
  mvn -B -q -f "$OS_DIR/pom.xml" dependency:copy-dependencies -DoutputDirectory="$OS_DIR/lib" \
    >"$LOGS/maven.log" 2>&1 || { tail_log "$LOGS/maven.log"; die "Maven could not resolve the OpenSearch jars"; }
  echo "$sha" > "$OS_DIR/lib/.pom.sha"
  done_step
else
  say "opensearch: jars up to date ($(ls "$OS_DIR/lib"/*.jar | wc -l) in infra/opensearch/lib)"
fi

# --- 4. npm --------------------------------------------------------------------------
# NPM_PACKAGES: socket.io-client (tests/js: the official JS client for the realtime tests and bench).
JS_DIR="$ROOT/tests/js"
js_sha="$(sha256sum "$JS_DIR/package-lock.json" | cut -d' ' -f1)"
if [[ ! -d "$JS_DIR/node_modules" || "$(cat "$JS_DIR/node_modules/.lock.sha" 2>/dev/null)" != "$js_sha" ]]; then
  if ! command -v npm >/dev/null; then
    # Debian 12 ships Node.js 18, enough for socket.io-client.
    [[ $EUID -eq 0 ]] || die "npm is missing: install Node.js >= 18 (needed by tests/js)"
    step "apt: installing nodejs npm"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
    done_step
  fi
  step "npm: installing tests/js (socket.io-client) from package-lock.json"
  npm ci --prefix "$JS_DIR" --no-audit --no-fund >/dev/null || die "npm ci failed in tests/js"
  echo "$js_sha" > "$JS_DIR/node_modules/.lock.sha"
  done_step
else
  say "npm: tests/js up to date"
fi

# --- 5. the discovery page's bundle ---------------------------------------------------
# api/discover/web: npm ci when its lock changed, then esbuild into api/discover/static (git-ignored) when
# the lock, build.mjs or a source changed (hash kept in static/.build.sha). Playwright's Python package never
# downloads a browser here: the tests use Debian's chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
WEB_DIR="$ROOT/api/discover/web"
web_lock="$(sha256sum "$WEB_DIR/package-lock.json" | cut -d' ' -f1)"
if [[ ! -d "$WEB_DIR/node_modules" || "$(cat "$WEB_DIR/node_modules/.lock.sha" 2>/dev/null)" != "$web_lock" ]]; then
  step "npm: installing api/discover/web (maplibre-gl, socket.io-client, world-atlas, esbuild) from package-lock.json"
  npm ci --prefix "$WEB_DIR" --no-audit --no-fund >/dev/null || die "npm ci failed in api/discover/web"
  echo "$web_lock" > "$WEB_DIR/node_modules/.lock.sha"
  done_step
fi
web_sha="$(cd "$WEB_DIR" && cat package-lock.json build.mjs $(find src -type f | sort) | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$ROOT/api/discover/static/.build.sha" 2>/dev/null)" != "$web_sha" ]]; then
  step "discover: building the page with esbuild into api/discover/static"
  (cd "$WEB_DIR" && node build.mjs >/dev/null) || die "the discovery page did not build (api/discover/web)"
  echo "$web_sha" > "$ROOT/api/discover/static/.build.sha"
  done_step
else
  say "discover: bundle up to date"
fi

say "install: everything present"
