#!/usr/bin/env bash
# Install the real Claude Code CLI (npm package @anthropic-ai/claude-code) for the end-to-end tests.
#
# Usage: .ci/install-claude.sh [VERSION]
#
# Idempotent: does nothing when the requested version is already installed and runs. Each
# version has its own `npm install --prefix`, so several live side by side:
#   the pinned default (2.1.197):  ${SESSIONTUI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sessiontui-ci}/claude
#   any other VERSION:             ${SESSIONTUI_CACHE:-...}/claude-VERSION
# On success the binary's path is the last line on stdout (every other message goes to stderr),
# so CI can do:
#   SESSIONTUI_CLAUDE_BIN="$(.ci/install-claude.sh | tail -n 1)"              # 2.1.197
#   SESSIONTUI_CLAUDE_BIN_NEWEST="$(.ci/install-claude.sh 2.1.332 | tail -n 1)" # beside it
# and run the tests marked `claude` once per binary (SESSIONTUI_CLAUDE_BIN=<path> pytest -m claude).
# It never fails CI: without npm, or when the install fails, it prints a warning on stderr, prints
# nothing on stdout and exits 0; the tests marked `claude` then skip.
#
# Environment: SESSIONTUI_CLAUDE_VERSION is the version when no argument is given (default
# 2.1.197); SESSIONTUI_CLAUDE_PREFIX overrides the install prefix.
set -u

PACKAGE="@anthropic-ai/claude-code"
DEFAULT_VERSION="2.1.197"
VERSION="${1:-${SESSIONTUI_CLAUDE_VERSION:-$DEFAULT_VERSION}}"
if ! [[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    printf 'install-claude: usage: %s [VERSION]  (VERSION like 2.1.332, got %q)\n' "$0" "$VERSION" >&2
    exit 2
fi
# Used when the pinned version is not on the registry: the newest of the same minor series,
# whose registry format (SPEC 2.1) was verified.
FALLBACK_RANGE="~${VERSION%.*}.0"
CACHE_ROOT="${SESSIONTUI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sessiontui-ci}"
if [ "$VERSION" = "$DEFAULT_VERSION" ]; then
    PREFIX="${SESSIONTUI_CLAUDE_PREFIX:-$CACHE_ROOT/claude}"
else
    PREFIX="${SESSIONTUI_CLAUDE_PREFIX:-$CACHE_ROOT/claude-$VERSION}"
fi
PKG_DIR="$PREFIX/node_modules/$PACKAGE"
BIN="$PREFIX/node_modules/.bin/claude"

warn() { printf 'install-claude: %s\n' "$*" >&2; }

installed_version() {
    # The version npm recorded, or nothing.
    [ -f "$PKG_DIR/package.json" ] || return 0
    node -e 'process.stdout.write(String(require(process.argv[1]).version || ""))' \
        "$PKG_DIR/package.json" 2>/dev/null || true
}

binary_works() {
    # `claude --version` prints e.g. "2.1.197 (Claude Code)". A fresh HOME keeps it from reading
    # or writing the runner's real configuration.
    local home out
    [ -x "$BIN" ] || return 1
    home="$(mktemp -d)"
    out="$(HOME="$home" CLAUDE_CONFIG_DIR="$home/.claude" DISABLE_AUTOUPDATER=1 \
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 timeout 60 "$BIN" --version 2>/dev/null)"
    local rc=$?
    rm -rf "$home"
    [ "$rc" -eq 0 ] && [[ "$out" == *"Claude Code"* ]]
}

place_native_binary() {
    # npm >= 11 may not run the postinstall script ("install scripts not yet covered by
    # allowScripts"; also --ignore-scripts). Without it bin/claude.exe stays a stub that exits 1.
    # The postinstall only hard-links the platform package's binary over the stub: run it.
    [ -f "$PKG_DIR/install.cjs" ] || return 1
    warn "the native binary is not in place; running the package's postinstall (install.cjs)"
    (cd "$PKG_DIR" && node install.cjs) >&2
}

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    warn "WARNING: npm/node not found; Claude Code is not installed and the claude e2e tests will skip"
    exit 0
fi

current="$(installed_version)"
if [ -n "$current" ] && { [ "$current" = "$VERSION" ] || [ -f "$PREFIX/.fallback-$VERSION" ]; }; then
    if binary_works || { place_native_binary && binary_works; }; then
        warn "$PACKAGE@$current already installed in $PREFIX"
        printf '%s\n' "$BIN"
        exit 0
    fi
    warn "the installed copy does not run; reinstalling"
fi

mkdir -p "$PREFIX" || { warn "WARNING: cannot create $PREFIX; the claude e2e tests will skip"; exit 0; }
rm -f "$PREFIX/.fallback-$VERSION"

npm_install() {
    warn "npm install --prefix $PREFIX $PACKAGE@$1"
    npm install --prefix "$PREFIX" --no-fund --no-audit --save-exact --loglevel=error \
        "$PACKAGE@$1" >&2
}

if ! npm_install "$VERSION"; then
    warn "could not install $PACKAGE@$VERSION; trying $PACKAGE@$FALLBACK_RANGE"
    if npm_install "$FALLBACK_RANGE"; then
        touch "$PREFIX/.fallback-$VERSION"
    else
        warn "WARNING: npm install failed; the claude e2e tests will skip"
        exit 0
    fi
fi

if ! binary_works; then
    place_native_binary || true
fi
if ! binary_works; then
    warn "WARNING: $BIN does not run after the install; the claude e2e tests will skip"
    exit 0
fi

warn "installed $PACKAGE@$(installed_version) in $PREFIX"
printf '%s\n' "$BIN"
