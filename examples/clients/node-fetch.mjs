// A real client with Node's fetch: sign with node:crypto, call App ID authentication.
//   appauth-conformance serve --app "$APP_ID=$APP_KEY" -- node clients/node-fetch.mjs
// APPAUTH_ENDPOINT (the base URL) and NODE_EXTRA_CA_CERTS (the run's CA) come from serve.
import { createHmac, randomBytes } from "node:crypto";

const { APPAUTH_ENDPOINT, APP_ID, APP_KEY } = process.env;
const userId = process.env.USER_ID ?? "alice";
const expireTime = Math.floor(Date.now() / 1000) + 600; // seconds, not Date.now()'s milliseconds
const nonce = randomBytes(16).toString("hex");
const signature = createHmac("sha256", APP_KEY).update(`${APP_ID}:${userId}:${expireTime}:${nonce}`).digest("hex");
const access = Buffer.from(APP_ID, "utf8").toString("base64");

const response = await fetch(`${APPAUTH_ENDPOINT}/v2/usg/acs/auth/appauth`, {
  method: "POST",
  headers: {
    Authorization: `HMAC-SHA256 signature=${signature},access=${access}`,
    "X-Token-Type": "LongTicket",
    "Content-Type": "application/json",
  },
  body: JSON.stringify({ appId: APP_ID, userId, expireTime, nonce, clientType: 72 }),
});
const body = await response.json();
console.log(response.status, body.accessToken ? "token received" : body.error_msg);
process.exit(response.ok ? 0 : 1);
