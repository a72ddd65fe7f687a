// A conforming App ID signer behind the appauth-conformance runner protocol (v1).
//
// Copy this file, replace stringToSign() and sign() with calls to YOUR signer (drop
// StringToSign from the response if your signer does not expose it), and plug it in:
//
//	pytest --lang=mine --runner "mine=go run ."      (compiles at every start)
//
// or, built once, in your pyproject.toml:
//
//	[tool.appauth-conformance.runners.mine]
//	build = ["go", "build", "-o", "signer", "."]
//	command = ["./signer"]
//
// Go 1.19+, standard library only. Protocol: `appauth-conformance docs runner-protocol`; this file is
// walked through in `appauth-conformance docs writing-a-runner`.
//
// Text: a Go string is bytes, normally UTF-8, and cannot hold an unpaired UTF-16
// surrogate (it has no UTF-8 form). encoding/json silently decodes a lone "\ud800"
// escape to U+FFFD, so a signer fed by it would sign U+FFFD where it must refuse.
// Checking the decoded text for U+FFFD is not enough either (U+FFFD is legitimate
// text), so text() looks at the raw escapes before decoding: an unpaired surrogate
// escape is refused with UnpairedSurrogate. NUL is an ordinary byte in a Go string.
package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"unicode/utf8"
)

// Refusal is a typed error: reported as {"type": Type, "message": Message}.
type Refusal struct{ Type, Message string }

func (e *Refusal) Error() string { return e.Type + ": " + e.Message }

var carries = map[string][2]bool{ // mode -> signs (corp_id, user_id)
	"single": {false, true}, "sp_user": {true, true}, "sp_corp_admin": {true, false}, "sp_admin": {false, false},
}

// stringToSign is AppID:[CorpID:]UserID:ExpireTime:Nonce; a field the mode leaves empty keeps its colons.
func stringToSign(mode, appID, corpID, userID string, expireTime int64, nonce string) (string, error) {
	c, ok := carries[mode]
	if !ok {
		return "", &Refusal{"InvalidMode", fmt.Sprintf("unknown mode %q", mode)}
	}
	if !c[0] { // an id the mode does not sign is ignored
		corpID = ""
	}
	if !c[1] {
		userID = ""
	}
	exp := strconv.FormatInt(expireTime, 10) // int64: exact up to 2^63-1, never a float
	if mode == "single" {
		return appID + ":" + userID + ":" + exp + ":" + nonce, nil
	}
	return appID + ":" + corpID + ":" + userID + ":" + exp + ":" + nonce, nil // sp_*: five slots
}

// sign is the signer under test: lowercase hex HMAC-SHA256 of the UTF-8 text.
func sign(data, appKey string) string {
	mac := hmac.New(sha256.New, []byte(appKey))
	mac.Write([]byte(data))
	return hex.EncodeToString(mac.Sum(nil))
}

// text decodes a JSON string token, refusing an unpaired surrogate escape (see the top).
func text(raw json.RawMessage, name string) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || !utf8.Valid(raw) {
		return "", &Refusal{"InvalidRequest", name + " must be a UTF-8 JSON string"}
	}
	unit := func(at int) uint64 { u, _ := strconv.ParseUint(string(raw[at:at+4]), 16, 16); return u }
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i++; raw[i] != 'u' {
			continue // \" \\ \n ...: the escaped char is skipped by i++
		}
		u := unit(i + 1)
		i += 4
		if u >= 0xD800 && u <= 0xDBFF && i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' &&
			unit(i+3) >= 0xDC00 && unit(i+3) <= 0xDFFF {
			i += 6 // a proper pair: one astral character
		} else if u >= 0xD800 && u <= 0xDFFF {
			return "", &Refusal{"UnpairedSurrogate", fmt.Sprintf("%s: unpaired surrogate U+%04X has no UTF-8 form", name, u)}
		}
	}
	return s, nil
}

type response struct {
	Seq          uint64            `json:"seq"`
	StringToSign string            `json:"string_to_sign,omitempty"`
	Signature    string            `json:"signature,omitempty"`
	Error        map[string]string `json:"error,omitempty"`
}

func handle(req map[string]json.RawMessage) (interface{}, error) {
	if string(req["op"]) == `"hello"` {
		return map[string]interface{}{"op": "hello", "protocol": 1, "name": "go-example", "language": "go",
			"runtime": runtime.Version(), "library": "crypto/hmac (Go standard library)", "library_version": runtime.Version()}, nil
	}
	seq, err := strconv.ParseUint(string(req["seq"]), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("request without a seq: %v", err) // not answerable: a runner fault
	}
	data, signature, err := signRequest(req)
	if err != nil { // a typed refusal
		r, ok := err.(*Refusal)
		if !ok {
			r = &Refusal{fmt.Sprintf("%T", err), err.Error()}
		}
		return response{Seq: seq, Error: map[string]string{"type": r.Type, "message": r.Message}}, nil
	}
	return response{Seq: seq, StringToSign: data, Signature: signature}, nil
}

func signRequest(req map[string]json.RawMessage) (string, string, error) {
	f := map[string]string{}
	for _, name := range []string{"mode", "app_id", "corp_id", "user_id", "nonce", "app_key"} {
		s, err := text(req[name], name)
		if err != nil {
			return "", "", err
		}
		f[name] = s
	}
	exp, err := strconv.ParseInt(string(req["expire_time"]), 10, 64)
	if err != nil || exp < 0 {
		return "", "", &Refusal{"InvalidExpireTime", "expire_time must be an integer from 0 to 2^63-1, got " + string(req["expire_time"])}
	}
	data, err := stringToSign(f["mode"], f["app_id"], f["corp_id"], f["user_id"], exp, f["nonce"])
	if err != nil {
		return "", "", err
	}
	return data, sign(data, f["app_key"]), nil
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	enc := json.NewEncoder(out) // Encode writes one line; lone surrogates never reach the output
	enc.SetEscapeHTML(false)
	for {
		if b, _ := in.Peek(in.Buffered()); bytes.IndexByte(b, '\n') < 0 {
			out.Flush() // no whole line buffered, so the next read may block: flush first (the harness pipelines)
		}
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var req map[string]json.RawMessage
			resp, herr := interface{}(nil), json.Unmarshal(line, &req)
			if herr == nil {
				resp, herr = handle(req)
			}
			if herr != nil {
				out.Flush()
				fmt.Fprintf(os.Stderr, "go-example: bad request: %v\n", herr)
				os.Exit(1) // the harness reports a runner fault with this stderr tail
			}
			enc.Encode(resp)
		}
		if err == io.EOF {
			out.Flush() // EOF: finish and exit 0
			return
		} else if err != nil {
			fmt.Fprintf(os.Stderr, "go-example: reading stdin: %v\n", err)
			os.Exit(1)
		}
	}
}
