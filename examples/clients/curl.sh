#!/bin/sh
# A real client in one shell line: sign with openssl, call App ID authentication with curl.
#   appauth-conformance serve --app "$APP_ID=$APP_KEY" -- sh clients/curl.sh
# APPAUTH_ENDPOINT (the base URL) and CURL_CA_BUNDLE (the run's CA) come from serve; APP_ID, APP_KEY
# and USER_ID from your environment.
set -eu
: "${APPAUTH_ENDPOINT:?run me under appauth-conformance serve}" "${APP_ID:?}" "${APP_KEY:?}"
USER_ID=${USER_ID:-alice}
EXPIRE=$(( $(date +%s) + 600 ))
NONCE=$(openssl rand -hex 16)
SIG=$(printf '%s' "$APP_ID:$USER_ID:$EXPIRE:$NONCE" | openssl dgst -sha256 -hmac "$APP_KEY" | sed 's/^.* //')
ACCESS=$(printf '%s' "$APP_ID" | base64)
curl -fsS -X POST "$APPAUTH_ENDPOINT/v2/usg/acs/auth/appauth" \
  -H "Authorization: HMAC-SHA256 signature=$SIG,access=$ACCESS" -H "X-Token-Type: LongTicket" \
  -H "Content-Type: application/json" \
  -d "{\"appId\":\"$APP_ID\",\"userId\":\"$USER_ID\",\"expireTime\":$EXPIRE,\"nonce\":\"$NONCE\",\"clientType\":72}"
echo
