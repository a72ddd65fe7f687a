// A conforming App ID signer behind the appauth-conformance runner protocol (v1).
//
// Copy this file, replace stringToSign() and sign() with calls to YOUR signer (drop
// string_to_sign from the response if your signer does not expose it), and plug it in:
//
//     pytest --lang=mine --runner "mine=java Signer.java"      (JDK 11+ runs a source file)
//
// or, compiled once, in your pyproject.toml:
//
//     [tool.appauth-conformance.runners.mine]
//     build = ["javac", "-d", "build", "Signer.java"]
//     command = ["java", "-cp", "build", "Signer"]
//
// JDK 17+, no dependencies. Protocol: `appauth-conformance docs runner-protocol`; this file is walked
// through in `appauth-conformance docs writing-a-runner`.

import java.io.*;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.SecretKey;

public final class Signer {

    /** AppID:[CorpID:]UserID:ExpireTime:Nonce; a field the mode leaves empty keeps its colons. */
    static String stringToSign(String mode, String appId, String corpId, String userId, long expireTime, String nonce) {
        List<String> carries = switch (mode) {
            case "single" -> List.of("user_id");
            case "sp_user" -> List.of("corp_id", "user_id");
            case "sp_corp_admin" -> List.of("corp_id");
            case "sp_admin" -> List.of();
            default -> throw new IllegalArgumentException("unknown mode " + mode);
        };
        if (!carries.contains("corp_id")) corpId = ""; // an id the mode does not sign is ignored
        if (!carries.contains("user_id")) userId = "";
        String exp = Long.toString(expireTime); // a long: exact up to 2^63-1, never a double
        if (mode.equals("single")) return appId + ":" + userId + ":" + exp + ":" + nonce;
        return appId + ":" + corpId + ":" + userId + ":" + exp + ":" + nonce; // sp_*: five slots
    }

    /** The signer under test: lowercase hex HMAC-SHA256 of the UTF-8 text. Throws to refuse. */
    static String sign(String data, String appKey) throws GeneralSecurityException {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new RawKey(utf8(appKey, "app_key"))); // not SecretKeySpec: it throws on an empty key, which HMAC allows
        return HexFormat.of().formatHex(mac.doFinal(utf8(data, "string_to_sign")));
    }

    /** Strict UTF-8. String.getBytes(UTF_8) would sign '?' for an unpaired surrogate; a new
     *  encoder REPORTs it instead, so the request is refused. */
    static byte[] utf8(String s, String what) {
        CharBuffer in = CharBuffer.wrap(s);
        try {
            ByteBuffer b = StandardCharsets.UTF_8.newEncoder().encode(in);
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(what + ": unpaired surrogate U+" + Integer.toHexString(s.charAt(in.position())).toUpperCase()
                    + " at index " + in.position() + " has no UTF-8 form", e);
        }
    }

    record RawKey(byte[] bytes) implements SecretKey {
        public String getAlgorithm() { return "HmacSHA256"; }
        public String getFormat() { return "RAW"; }
        public byte[] getEncoded() { return bytes.clone(); }
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16);
        Writer out = new BufferedWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.US_ASCII), 1 << 16);
        for (String line; (line = in.readLine()) != null; ) {
            if (!line.isBlank()) out.write(handle(new Json(line).object()) + "\n");
            if (!in.ready()) out.flush(); // flush before blocking on input: the harness pipelines requests
        }
        out.flush(); // EOF: finish and exit 0
    }

    static String handle(Map<String, Object> req) throws GeneralSecurityException {
        if ("hello".equals(req.get("op"))) {
            var p = Mac.getInstance("HmacSHA256").getProvider();
            return "{\"op\":\"hello\",\"protocol\":1,\"name\":\"java-example\",\"language\":\"java\",\"runtime\":"
                    + quote(System.getProperty("java.version")) + ",\"library\":\"javax.crypto\",\"library_version\":"
                    + quote(p.getName() + " " + p.getVersionStr()) + "}";
        }
        long seq = ((BigDecimal) req.get("seq")).longValueExact();
        try {
            long exp = ((BigDecimal) req.get("expire_time")).longValueExact(); // ArithmeticException: not a long
            if (exp < 0) throw new IllegalArgumentException("expire_time must not be negative");
            String data = stringToSign((String) req.get("mode"), (String) req.get("app_id"), (String) req.get("corp_id"),
                    (String) req.get("user_id"), exp, (String) req.get("nonce"));
            return "{\"seq\":" + seq + ",\"string_to_sign\":" + quote(data) + ",\"signature\":" + quote(sign(data, (String) req.get("app_key"))) + "}";
        } catch (Exception e) { // a typed refusal: the exception's class name and message
            return "{\"seq\":" + seq + ",\"error\":{\"type\":" + quote(e.getClass().getSimpleName())
                    + ",\"message\":" + quote(String.valueOf(e.getMessage())) + "}}";
        }
    }

    /** A JSON string, ASCII only: a lone surrogate must travel as a \\u escape (it has no UTF-8 form). */
    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    /** A tiny reader for the flat request object: string values decoded to exactly the UTF-16
     *  code units sent (NUL and lone surrogates kept), numbers as exact BigDecimal. */
    static final class Json {
        private final String s;
        private int i;

        Json(String s) { this.s = s; }

        Map<String, Object> object() {
            Map<String, Object> m = new HashMap<>();
            expect('{');
            if (peek() == '}') { i++; return m; }
            while (true) {
                String key = string();
                expect(':');
                m.put(key, peek() == '"' ? string() : number());
                if (peek() != ',') break;
                i++;
            }
            expect('}');
            return m;
        }

        private char peek() {
            while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++;
            if (i == s.length()) throw new IllegalArgumentException("unexpected end of request");
            return s.charAt(i);
        }

        private void expect(char c) {
            if (peek() != c) throw new IllegalArgumentException("expected '" + c + "' at column " + (i + 1));
            i++;
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            for (char c; (c = s.charAt(i++)) != '"'; ) {
                if (c != '\\') { b.append(c); continue; }
                c = s.charAt(i++);
                switch (c) {
                    case 'u' -> { b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; }
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    default -> b.append(c); // \" \\ \/
                }
            }
            return b.toString();
        }

        private BigDecimal number() {
            int start = i;
            while (i < s.length() && "+-.eE0123456789".indexOf(s.charAt(i)) >= 0) i++;
            return new BigDecimal(s.substring(start, i)); // NumberFormatException: not a number
        }
    }
}
