#!/usr/bin/env bash
# The gateway's tests and demo run a real MQTT broker: Debian's mosquitto, installed when it is
# missing. Only the binary is used (each test starts its own on a loopback port); the package's
# system service is left stopped.
set -euo pipefail
if command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing for the gateway tests: install mosquitto" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mosquitto >/dev/null
