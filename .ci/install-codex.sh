#!/usr/bin/env bash
# Install the real Codex CLI (npm package @openai/codex) for the end-to-end tests.
#
# Idempotent: does nothing when the pinned version is already installed and runs. Installs into
#   ${SESSIONTUI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sessiontui-ci}/codex
# with `npm install --prefix`. On success the binary's path (the npm launcher `bin/codex`, a Node
# script that starts the native TUI as its child, SPEC 2.3) is the last line on stdout (every
# other message goes to stderr), so CI can do:
#   SESSIONTUI_CODEX_BIN="$(.ci/install-codex.sh | tail -n 1)"
# It never fails CI: without npm, or when the install fails, it prints a warning on stderr, prints
# nothing on stdout and exits 0; the tests marked `codex` then skip.
#
# Environment: SESSIONTUI_CODEX_VERSION overrides the pinned version (default 0.171.0).
set -u

PACKAGE="@openai/codex"
VERSION="${SESSIONTUI_CODEX_VERSION:-0.171.0}"
CACHE_ROOT="${SESSIONTUI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sessiontui-ci}"
PREFIX="$CACHE_ROOT/codex"
PKG_DIR="$PREFIX/node_modules/$PACKAGE"
BIN="$PREFIX/node_modules/.bin/codex"

warn() { printf 'install-codex: %s\n' "$*" >&2; }

installed_version() {
    # The version npm recorded, or nothing.
    [ -f "$PKG_DIR/package.json" ] || return 0
    node -e 'process.stdout.write(String(require(process.argv[1]).version || ""))' \
        "$PKG_DIR/package.json" 2>/dev/null || true
}

binary_works() {
    # `codex --version` prints e.g. "codex-cli 0.171.0". A fresh CODEX_HOME keeps it from reading
    # or writing the runner's real configuration.
    local home out rc
    [ -x "$BIN" ] || return 1
    home="$(mktemp -d)"
    out="$(HOME="$home" CODEX_HOME="$home/.codex" timeout 60 "$BIN" --version 2>/dev/null)"
    rc=$?
    rm -rf "$home"
    [ "$rc" -eq 0 ] && [[ "$out" == *"$VERSION"* ]]
}

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    warn "WARNING: npm/node not found; Codex is not installed and the codex e2e tests will skip"
    exit 0
fi

current="$(installed_version)"
if [ -n "$current" ] && [ "$current" = "$VERSION" ]; then
    if binary_works; then
        warn "$PACKAGE@$current already installed in $PREFIX"
        printf '%s\n' "$BIN"
        exit 0
    fi
    warn "the installed copy does not run; reinstalling"
fi

mkdir -p "$PREFIX" || { warn "WARNING: cannot create $PREFIX; the codex e2e tests will skip"; exit 0; }

warn "npm install --prefix $PREFIX $PACKAGE@$VERSION"
# The native binary comes in an optional platform package (@openai/codex-linux-x64, ...): keep
# optional dependencies on.
if ! npm install --prefix "$PREFIX" --no-fund --no-audit --save-exact --include=optional \
        --loglevel=error "$PACKAGE@$VERSION" >&2; then
    warn "WARNING: npm install failed; the codex e2e tests will skip"
    exit 0
fi

if ! binary_works; then
    warn "WARNING: $BIN does not run after the install; the codex e2e tests will skip"
    exit 0
fi

warn "installed $PACKAGE@$(installed_version) in $PREFIX"
printf '%s\n' "$BIN"
