#!/bin/sh
# Install Debian's Chromium for the browser tests when it is missing and we may install packages.
# (Playwright cannot download its own browsers here.) Under CI=true a missing browser is an error.
set -u
if [ -x /usr/bin/chromium ] || [ -x /usr/lib/chromium/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -x /usr/bin/chromium ] && [ "${CI:-}" = "true" ]; then
    echo "CI: chromium is not installed and could not be installed" >&2
    exit 1
fi
exit 0
