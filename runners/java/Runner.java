// java-reference: the Java reference runner of appauth-conformance.
//
// A long-lived process speaking the runner protocol (docs/runner-protocol.md):
// JSON Lines on stdin/stdout, one request -> one response. It builds the string
// to sign for the request's mode and signs it with the vendor's documented Java
// snippet, kept as documented (one speed-up, see hmacSha256Hex) so that its
// quirks are what the suite measures.
//
// Build and run (JDK 17 or later, no dependencies):
//     javac -encoding UTF-8 -d . Runner.java
//     java -cp . Runner

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UnsupportedEncodingException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.security.Provider;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public final class Runner {

    // ------------------------------------------------------------------
    // The documented snippet
    // ------------------------------------------------------------------

    /**
     * The vendor's documented Java signing code, unchanged. Behaviours it preserves:
     * <ul>
     * <li>An empty key makes {@code new SecretKeySpec} throw
     *     {@code IllegalArgumentException("Empty key")}; that is not in the catch list,
     *     so it escapes to the caller (the request loop reports it as a refusal).</li>
     * <li>{@code getBytes("UTF-8")} silently replaces an unpaired surrogate with
     *     {@code '?'} (0x3F) and signs the result; nothing here validates text.</li>
     * <li>NUL characters are plain 0x00 bytes and are signed like any other.</li>
     * </ul>
     * One deviation, for speed only: the snippet calls {@code Mac.getInstance} on every
     * call; here the first instance is kept and re-initialised with each new key.
     * A fresh JVM spent about 0.7 s more CPU per 100,000 signatures on the provider
     * lookup alone, more than the runner's whole budget. {@code init} fully resets
     * the Mac, the key spec is still built per call (so the empty-key exception is
     * thrown at the same point), and the runner is single-threaded: same results.
     */
    static String hmacSha256Hex(String data, String key) {
        try {
            Mac mac = cachedMac != null ? cachedMac : (cachedMac = Mac.getInstance("HmacSHA256"));
            SecretKeySpec secretKey = new SecretKeySpec(key.getBytes("UTF-8"), "HmacSHA256");
            mac.init(secretKey);
            byte[] bytes = mac.doFinal(data.getBytes("UTF-8"));
            return lowerHex(bytes);
        } catch (NoSuchAlgorithmException | UnsupportedEncodingException | InvalidKeyException e) {
            // The snippet's catch list. None of these can happen on a conforming JDK
            // (HmacSHA256 and UTF-8 are mandatory; any non-empty raw key is valid),
            // so rather than invent a signature, surface it as a refusal.
            throw new IllegalStateException(e.toString(), e);
        }
    }

    private static Mac cachedMac;

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    static String lowerHex(byte[] bytes) {
        char[] out = new char[bytes.length * 2];
        for (int i = 0; i < bytes.length; i++) {
            out[2 * i] = HEX[(bytes[i] >> 4) & 0xF];
            out[2 * i + 1] = HEX[bytes[i] & 0xF];
        }
        return new String(out);
    }

    // ------------------------------------------------------------------
    // The string to sign (harness/scheme.py is the oracle)
    // ------------------------------------------------------------------

    static String stringToSign(String mode, String appId, String corpId, String userId,
                               long expireTime, String nonce) throws ProtocolError {
        String exp = Long.toString(expireTime);
        switch (mode) {
            case "single":        return appId + ":" + userId + ":" + exp + ":" + nonce;
            case "sp_user":       return appId + ":" + corpId + ":" + userId + ":" + exp + ":" + nonce;
            case "sp_corp_admin": return appId + ":" + corpId + "::" + exp + ":" + nonce;
            case "sp_admin":      return appId + ":::" + exp + ":" + nonce;
            default: throw new ProtocolError("unknown mode " + quote(mode));
        }
    }

    // ------------------------------------------------------------------
    // The request loop
    // ------------------------------------------------------------------

    /** A request the protocol does not allow; its simple name is the reported error type. */
    static final class ProtocolError extends Exception {
        private static final long serialVersionUID = 1L;
        ProtocolError(String message) { super(message); }
    }

    public static void main(String[] args) throws IOException {
        // FileDescriptor streams, not System.out: PrintStream swallows write errors,
        // and a harness that has gone away should end this process.
        BufferedReader in = new BufferedReader(
                new InputStreamReader(new FileInputStream(FileDescriptor.in), StandardCharsets.UTF_8), 1 << 16);
        BufferedWriter out = new BufferedWriter(
                new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8), 1 << 16);
        StringBuilder response = new StringBuilder(256);
        String line;
        while ((line = in.readLine()) != null) {
            response.setLength(0);
            handle(line, response);
            if (response.length() > 0) {
                out.append(response).append('\n');
            }
            // The harness pipelines requests: flush only before we would block on input.
            if (!in.ready()) {
                out.flush();
            }
        }
        out.flush();
        System.exit(0);
    }

    private static final Pattern SEQ = Pattern.compile("\"seq\"\\s*:\\s*(\\d{1,18})");

    /** Answers one request line into {@code out} (left empty when there is nothing to answer). */
    static void handle(String line, StringBuilder out) {
        Map<String, Object> req = null;
        long seq = -1;
        String sts = null;
        try {
            req = Json.parseObject(line);
            Object s = req.get("seq");
            if (s instanceof Long && (Long) s >= 0) {
                seq = (Long) s;
            }
            Object op = req.get("op");
            if ("hello".equals(op)) {
                // Answer protocol 1 whatever was asked: the harness judges a mismatch.
                out.append(helloResponse());
            } else if ("sign".equals(op)) {
                if (seq < 0) {
                    throw new ProtocolError("sign request without a non-negative integer seq");
                }
                sts = stringToSign(str(req, "mode"), str(req, "app_id"), str(req, "corp_id"),
                        str(req, "user_id"), expireTime(req), str(req, "nonce"));
                String key = str(req, "app_key");
                String signature = hmacSha256Hex(sts, key);
                out.append("{\"seq\":").append(seq).append(",\"string_to_sign\":");
                appendJsonString(out, sts);
                out.append(",\"signature\":");
                appendJsonString(out, signature);
                out.append('}');
            } else {
                throw new ProtocolError("unknown op " + (op instanceof String ? quote((String) op) : String.valueOf(op)));
            }
        } catch (Throwable t) {
            out.setLength(0);
            if (req == null) {
                // The line did not parse: salvage a seq so the harness can attribute
                // the error to its request instead of waiting for a timeout.
                Matcher m = SEQ.matcher(line);
                if (m.find()) {
                    seq = Long.parseLong(m.group(1));
                }
            }
            String type = t.getClass().getSimpleName();
            if (type.isEmpty()) {
                type = t.getClass().getName();
            }
            String message = t.getMessage() == null ? "" : t.getMessage();
            if (sts == null) {
                // A malformed request, not a signing outcome: tell the human.
                System.err.println("java-reference: " + (seq >= 0 ? "seq " + seq : "request without seq")
                        + ": " + type + ": " + message + " (line starts " + quote(line) + ")");
            }
            if (seq >= 0) {
                out.append("{\"seq\":").append(seq);
                if (sts != null) {
                    out.append(",\"string_to_sign\":");
                    appendJsonString(out, sts);
                }
                out.append(",\"error\":{\"type\":");
                appendJsonString(out, type);
                out.append(",\"message\":");
                appendJsonString(out, message);
                out.append("}}");
            }
        }
    }

    private static String hello;

    /** The hello reply; versions are read from the running JDK and provider. */
    static String helloResponse() throws NoSuchAlgorithmException {
        if (hello == null) {
            Provider p = Mac.getInstance("HmacSHA256").getProvider();
            StringBuilder b = new StringBuilder(256);
            b.append("{\"op\":\"hello\",\"protocol\":1,\"name\":\"java-reference\",\"language\":\"java\",\"runtime\":");
            appendJsonString(b, String.valueOf(System.getProperty("java.version")));
            b.append(",\"library\":\"javax.crypto\",\"library_version\":");
            appendJsonString(b, p.getName() + " " + p.getVersionStr());
            b.append(",\"details\":{\"vm\":");
            appendJsonString(b, System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
            b.append("}}");
            hello = b.toString();
        }
        return hello;
    }

    static String str(Map<String, Object> req, String name) throws ProtocolError {
        Object v = req.get(name);
        if (!(v instanceof String)) {
            throw new ProtocolError(name + " must be a string, got " + describe(v, req.containsKey(name)));
        }
        return (String) v;
    }

    static long expireTime(Map<String, Object> req) throws ProtocolError {
        Object v = req.get("expire_time");
        if (!(v instanceof Long)) {
            throw new ProtocolError("expire_time must be an integer from 0 to 2^63-1, got "
                    + describe(v, req.containsKey("expire_time")));
        }
        return (Long) v;
    }

    static String describe(Object v, boolean present) {
        if (!present) return "nothing (missing)";
        if (v == null) return "null";
        return v.getClass().getSimpleName() + " " + (v instanceof String ? quote((String) v) : preview(v.toString()));
    }

    static String preview(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2);
        appendJsonString(b, preview(s));
        return b.toString();
    }

    // ------------------------------------------------------------------
    // JSON output: pure ASCII, every other char as a backslash-u escape, so
    // unpaired surrogates (which have no UTF-8 form) survive exactly
    // ------------------------------------------------------------------

    static void appendJsonString(StringBuilder b, String s) {
        b.append('"');
        int run = 0; // start of the pending run of plain chars, copied in bulk (faster)
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c <= 0x7E && c != '"' && c != '\\') {
                continue;
            }
            b.append(s, run, i);
            run = i + 1;
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else {
                b.append("\\u").append(HEX[c >> 12]).append(HEX[(c >> 8) & 0xF])
                        .append(HEX[(c >> 4) & 0xF]).append(HEX[c & 0xF]);
            }
        }
        b.append(s, run, s.length()).append('"');
    }

    // ------------------------------------------------------------------
    // JSON input: a small strict parser (the JDK has none)
    // ------------------------------------------------------------------

    /**
     * Objects become HashMap (a repeated key: the last wins), arrays ArrayList,
     * strings String with every escape decoded to exactly its UTF-16 code unit
     * (so pairs and lone surrogates alike are kept as sent), integers that fit
     * Long, other numbers BigDecimal, true/false Boolean, null null.
     */
    static final class Json {
        private final String s;
        private int i;

        private Json(String s) { this.s = s; }

        static Map<String, Object> parseObject(String text) throws ProtocolError {
            Json p = new Json(text);
            p.ws();
            if (p.peek() != '{') throw p.error("expected a JSON object");
            Map<String, Object> obj = p.object();
            p.ws();
            if (p.i != text.length()) throw p.error("trailing characters after the object");
            return obj;
        }

        private ProtocolError error(String what) {
            return new ProtocolError("malformed JSON at column " + (i + 1) + ": " + what);
        }

        /** The next char, or -1 at the end of the line. */
        private int peek() { return i < s.length() ? s.charAt(i) : -1; }

        private void ws() {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
                i++;
            }
        }

        private void expect(char c) throws ProtocolError {
            if (peek() != c) throw error("expected '" + c + "'");
            i++;
        }

        private Object value() throws ProtocolError {
            ws();
            if (i >= s.length()) throw error("unexpected end of input");
            char c = s.charAt(i);
            switch (c) {
                case '{': return object();
                case '[': return array();
                case '"': return string();
                case 't': return literal("true", Boolean.TRUE);
                case 'f': return literal("false", Boolean.FALSE);
                case 'n': return literal("null", null);
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return number();
                    throw error("unexpected character " + quote(String.valueOf(c)));
            }
        }

        private Map<String, Object> object() throws ProtocolError {
            expect('{');
            Map<String, Object> obj = new HashMap<>();
            ws();
            if (peek() == '}') { i++; return obj; }
            while (true) {
                ws();
                if (peek() != '"') throw error("expected a string key");
                String key = string();
                ws();
                expect(':');
                obj.put(key, value());
                ws();
                if (peek() == ',') { i++; continue; }
                expect('}');
                return obj;
            }
        }

        private List<Object> array() throws ProtocolError {
            expect('[');
            List<Object> arr = new ArrayList<>();
            ws();
            if (peek() == ']') { i++; return arr; }
            while (true) {
                arr.add(value());
                ws();
                if (peek() == ',') { i++; continue; }
                expect(']');
                return arr;
            }
        }

        private Object literal(String word, Object v) throws ProtocolError {
            if (!s.startsWith(word, i)) throw error("invalid literal");
            i += word.length();
            return v;
        }

        private Object number() throws ProtocolError {
            int start = i;
            boolean integer = true;
            if (peek() == '-') i++;
            if (peek() == '0') {
                i++;
            } else if (digits() == 0) {
                throw error("invalid number");
            }
            if (peek() == '.') {
                i++;
                integer = false;
                if (digits() == 0) throw error("invalid number");
            }
            if (peek() == 'e' || peek() == 'E') {
                i++;
                integer = false;
                if (peek() == '+' || peek() == '-') i++;
                if (digits() == 0) throw error("invalid number");
            }
            String text = s.substring(start, i);
            if (integer) {
                try {
                    return Long.parseLong(text);
                } catch (NumberFormatException tooBig) {
                    // falls through: a valid integer outside long range
                }
            }
            return new BigDecimal(text);
        }

        private int digits() {
            int start = i;
            while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') i++;
            return i - start;
        }

        private String string() throws ProtocolError {
            expect('"');
            int start = i;
            // Fast path: no escapes, so the text is a plain substring.
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '"') return s.substring(start, i++);
                if (c == '\\' || c < 0x20) break;
                i++;
            }
            StringBuilder b = new StringBuilder(i - start + 16).append(s, start, i);
            while (true) {
                if (i >= s.length()) throw error("unterminated string");
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c < 0x20) { i--; throw error("unescaped control character in a string"); }
                if (c != '\\') { b.append(c); continue; }
                if (i >= s.length()) throw error("unterminated escape");
                char e = s.charAt(i++);
                switch (e) {
                    case '"': b.append('"'); break;
                    case '\\': b.append('\\'); break;
                    case '/': b.append('/'); break;
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'n': b.append('\n'); break;
                    case 'r': b.append('\r'); break;
                    case 't': b.append('\t'); break;
                    case 'u': b.append(hex4()); break; // one UTF-16 code unit, paired or not
                    default: i--; throw error("invalid escape \\" + e);
                }
            }
        }

        private char hex4() throws ProtocolError {
            if (i + 4 > s.length()) throw error("truncated \\u escape");
            int v = 0;
            for (int k = 0; k < 4; k++) {
                char c = s.charAt(i);
                int d = c >= '0' && c <= '9' ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (d < 0) throw error("invalid \\u escape");
                v = v * 16 + d;
                i++;
            }
            return (char) v;
        }
    }
}
