/*
 * Stand-in for the aws-msk-iam-auth jar's callback handler (not part of the Kafka distribution),
 * so that MM2's config classes can load the msk-iam corpus file as an MSK deployment would,
 * with that jar on the classpath. It is only instantiated by name; it never authenticates.
 */
package software.amazon.msk.auth.iam;

import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;

import java.util.List;
import java.util.Map;

import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;

public class IAMClientCallbackHandler implements AuthenticateCallbackHandler {
    @Override
    public void configure(Map<String, ?> configs, String saslMechanism,
                          List<AppConfigurationEntry> jaasConfigEntries) {
    }

    @Override
    public void close() {
    }

    @Override
    public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
        throw new UnsupportedCallbackException(callbacks[0], "test stand-in only");
    }
}
