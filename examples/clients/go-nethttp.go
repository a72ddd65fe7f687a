// A real client with Go's net/http: sign with crypto/hmac, call App ID authentication.
//
//	appauth-conformance serve --app "$APP_ID=$APP_KEY" -- go run clients/go-nethttp.go
//
// APPAUTH_ENDPOINT (the base URL) and SSL_CERT_FILE (the run's CA, read by crypto/x509 on Linux) come from serve.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	appID, appKey, userID := os.Getenv("APP_ID"), os.Getenv("APP_KEY"), "alice"
	expireTime := time.Now().Unix() + 600 // seconds
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		panic(err)
	}
	nonce := hex.EncodeToString(raw)
	mac := hmac.New(sha256.New, []byte(appKey))
	fmt.Fprintf(mac, "%s:%s:%d:%s", appID, userID, expireTime, nonce)
	signature := hex.EncodeToString(mac.Sum(nil))
	body, _ := json.Marshal(map[string]any{
		"appId": appID, "userId": userID, "expireTime": expireTime, "nonce": nonce, "clientType": 72,
	})
	req, _ := http.NewRequest("POST", os.Getenv("APPAUTH_ENDPOINT")+"/v2/usg/acs/auth/appauth", bytes.NewReader(body))
	req.Header.Set("Authorization", "HMAC-SHA256 signature="+signature+",access="+base64.StdEncoding.EncodeToString([]byte(appID)))
	req.Header.Set("X-Token-Type", "LongTicket")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	if resp.StatusCode != 200 {
		os.Exit(1)
	}
}
