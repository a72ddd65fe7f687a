// A real client with java.net.http.HttpClient: sign with javax.crypto, call App ID authentication.
//   appauth-conformance serve --app "$APP_ID=$APP_KEY" -- java clients/JavaHttpClient.java
// APPAUTH_ENDPOINT (the base URL) comes from serve; Java does not read SSL_CERT_FILE, so the run's CA
// (that file) is loaded into the client's trust store here, as a team does for a private CA.
import java.io.FileInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public class JavaHttpClient {
    public static void main(String[] args) throws Exception {
        String appId = System.getenv("APP_ID"), appKey = System.getenv("APP_KEY"), userId = "alice";
        long expireTime = System.currentTimeMillis() / 1000 + 600; // seconds, not milliseconds
        byte[] raw = new byte[16];
        new SecureRandom().nextBytes(raw);
        String nonce = HexFormat.of().formatHex(raw);
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(appKey.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        String data = appId + ":" + userId + ":" + expireTime + ":" + nonce;
        String signature = HexFormat.of().formatHex(mac.doFinal(data.getBytes(StandardCharsets.UTF_8)));
        String access = Base64.getEncoder().encodeToString(appId.getBytes(StandardCharsets.UTF_8));
        String body = String.format(
            "{\"appId\":\"%s\",\"userId\":\"%s\",\"expireTime\":%d,\"nonce\":\"%s\",\"clientType\":72}",
            appId, userId, expireTime, nonce);

        HttpClient.Builder builder = HttpClient.newBuilder();
        String caFile = System.getenv("SSL_CERT_FILE");
        if (caFile != null) {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            try (FileInputStream in = new FileInputStream(caFile)) {
                trust.setCertificateEntry("run-ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, tmf.getTrustManagers(), null);
            builder.sslContext(ssl);
        }
        HttpRequest request = HttpRequest.newBuilder(URI.create(System.getenv("APPAUTH_ENDPOINT") + "/v2/usg/acs/auth/appauth"))
            .header("Authorization", "HMAC-SHA256 signature=" + signature + ",access=" + access)
            .header("X-Token-Type", "LongTicket")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
        HttpResponse<String> response = builder.build().send(request, HttpResponse.BodyHandlers.ofString());
        System.out.println(response.statusCode());
        System.exit(response.statusCode() == 200 ? 0 : 1);
    }
}
