//! The Workspace OpenID Connect server as this service uses it: discovery, the authorization
//! request, the code exchange, refresh, userinfo, revocation and the end-session address.

use std::sync::{PoisonError, RwLock};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreGrantType, CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
    CoreTokenResponse,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalProviderMetadata, AuthorizationCode,
    ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, EndSessionUrl, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, JsonWebKeySetUrl, LogoutRequest, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadata, RedirectUrl, RefreshToken, RequestTokenError, RevocationUrl, Scope,
    SignatureVerificationError, TokenResponse, reqwest,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::StartError;
use crate::config::Config;
use crate::tokens::{Tokens, User};

/// The scopes asked for besides `openid` (which the library adds): who the user is, and a
/// refresh token to keep the session going.
const SCOPES: [&str; 3] = ["profile", "email", "offline_access"];

/// The discovery fields `openidconnect` does not read itself: RFC 7009 revocation and
/// RP-initiated logout.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct RevocationAndLogout {
    revocation_endpoint: Option<RevocationUrl>,
    end_session_endpoint: Option<EndSessionUrl>,
}

impl AdditionalProviderMetadata for RevocationAndLogout {}

type Metadata = ProviderMetadata<
    RevocationAndLogout,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A sign-in in progress: what the callback checks the answer against. It never leaves the
/// server; the browser holds only a random key to it.
pub struct PendingLogin {
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

impl PendingLogin {
    /// The `state` sent with the authorization request.
    pub fn state(&self) -> &str {
        self.state.secret()
    }
}

/// Why a sign-in could not be completed after the browser came back with a code.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The server refused the code.
    #[error("the sign-in server refused the authorization code ({0})")]
    Refused(String),
    /// The server could not be reached or answered nonsense.
    #[error("the sign-in server could not be reached ({0})")]
    Unavailable(String),
    /// The answer had no valid ID token for this sign-in.
    #[error("the ID token is not valid for this sign-in ({0})")]
    IdToken(String),
}

/// Why tokens could not be refreshed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The server refused the refresh token: the session is over.
    #[error("the refresh token was refused ({0})")]
    Refused(String),
    /// The server could not be reached; the session may still be good.
    #[error("the sign-in server could not be reached ({0})")]
    Unavailable(String),
}

/// What the userinfo endpoint answered.
pub enum UserInfo {
    /// The user's claims, as the server sent them.
    Claims(serde_json::Value),
    /// The access token was refused.
    Unauthorized,
    /// Anything else, described.
    Failed(String),
}

/// The Workspace OpenID Connect server, known by discovery.
pub struct Provider {
    http: reqwest::Client,
    client: Client,
    issuer: String,
    issuer_url: IssuerUrl,
    /// The server's signing keys as last read. The server signs with a new key as soon as it
    /// rotates its keys, so they are read again when an ID token names a key not among them.
    keys: RwLock<CoreJsonWebKeySet>,
    jwks_uri: JsonWebKeySetUrl,
    signing_algorithms: Vec<CoreJwsSigningAlgorithm>,
    client_id: String,
    client_secret: String,
    userinfo: Url,
    revocation: Option<Url>,
    end_session: Option<EndSessionUrl>,
    post_logout_redirect: Option<PostLogoutRedirectUrl>,
}

impl Provider {
    /// Reads the server's discovery document (and its keys) at `config.issuer`.
    pub async fn discover(config: &Config) -> Result<Provider, StartError> {
        let discovery = |reason: String| StartError::Discovery {
            issuer: config.issuer.clone(),
            reason,
        };
        // Redirects are never followed: a redirect could send requests carrying the client
        // secret or tokens somewhere else.
        let http = reqwest::ClientBuilder::new()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| discovery(e.to_string()))?;
        let issuer_url =
            IssuerUrl::new(config.issuer.clone()).map_err(|e| discovery(e.to_string()))?;
        let metadata = Metadata::discover_async(issuer_url.clone(), &http)
            .await
            .map_err(|e| discovery(chain(&e)))?;
        if metadata.token_endpoint().is_none() {
            return Err(discovery("it names no token endpoint".to_owned()));
        }
        let userinfo = metadata
            .userinfo_endpoint()
            .map(|u| u.url().clone())
            .ok_or_else(|| discovery("it names no userinfo endpoint".to_owned()))?;
        let extra = metadata.additional_metadata().clone();
        let keys = RwLock::new(metadata.jwks().clone());
        let jwks_uri = metadata.jwks_uri().clone();
        let signing_algorithms = metadata.id_token_signing_alg_values_supported().clone();
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            Some(ClientSecret::new(config.client_secret.clone())),
        )
        .set_redirect_uri(RedirectUrl::from_url(config.redirect_uri.clone()));
        Ok(Provider {
            http,
            client,
            issuer: config.issuer.clone(),
            issuer_url,
            keys,
            jwks_uri,
            signing_algorithms,
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            userinfo,
            revocation: extra.revocation_endpoint.map(|u| u.url().clone()),
            end_session: extra.end_session_endpoint,
            post_logout_redirect: config
                .post_logout_redirect_uri
                .clone()
                .map(PostLogoutRedirectUrl::from_url),
        })
    }

    /// The issuer, which the server names in its authorization responses (RFC 9207).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Where to send the browser to sign in, and what to check its answer against: PKCE S256,
    /// a random `state` and a random `nonce`.
    pub fn authorization(&self) -> (Url, PendingLogin) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in SCOPES {
            request = request.add_scope(Scope::new(scope.to_owned()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        (
            url,
            PendingLogin {
                state,
                nonce,
                verifier,
            },
        )
    }

    /// Exchanges `code` (authenticating with the client secret, HTTP Basic) with the PKCE
    /// verifier of `pending`, and verifies the ID token: signature, issuer, audience, expiry,
    /// the nonce of `pending`, and the access-token hash.
    pub async fn exchange(
        &self,
        code: String,
        pending: PendingLogin,
    ) -> Result<(Tokens, User), SignInError> {
        let response = self
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| SignInError::Unavailable(e.to_string()))?
            .set_pkce_verifier(pending.verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => SignInError::Refused(r.to_string()),
                other => SignInError::Unavailable(chain(&other)),
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| SignInError::IdToken("there is none".to_owned()))?
            .clone();
        let verify =
            |verifier: &CoreIdTokenVerifier<'static>| -> Result<User, ClaimsVerificationError> {
                let claims = id_token.claims(verifier, &pending.nonce)?;
                check_access_token_hash(&id_token, verifier, claims, response.access_token())?;
                Ok(User {
                    subject: claims.subject().to_string(),
                    name: claims
                        .name()
                        .and_then(|n| n.get(None))
                        .map(|n| n.to_string()),
                    email: claims.email().map(|e| e.to_string()),
                })
            };
        let user = self.with_current_keys(verify).await.map_err(|e| match e {
            KeysError::Unavailable(reason) => SignInError::Unavailable(reason),
            KeysError::Invalid(e) => SignInError::IdToken(chain(&e)),
        })?;
        Ok((Tokens::issued(&response, id_token), user))
    }

    /// A verifier of ID tokens issued to this client, with the keys as last read.
    fn id_token_verifier(&self) -> CoreIdTokenVerifier<'static> {
        let keys = self
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        CoreIdTokenVerifier::new_confidential_client(
            ClientId::new(self.client_id.clone()),
            ClientSecret::new(self.client_secret.clone()),
            self.issuer_url.clone(),
            keys,
        )
        .set_allowed_algs(self.signing_algorithms.clone())
    }

    /// `verify` with the keys as last read, and once more with the server's keys read again
    /// when the token names a key not among them. Only ID tokens that came straight from the
    /// token endpoint are verified, so no one else can make the service read the keys.
    async fn with_current_keys<T>(
        &self,
        verify: impl Fn(&CoreIdTokenVerifier<'static>) -> Result<T, ClaimsVerificationError>,
    ) -> Result<T, KeysError> {
        match verify(&self.id_token_verifier()) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let keys = CoreJsonWebKeySet::fetch_async(&self.jwks_uri, &self.http)
                    .await
                    .map_err(|e| KeysError::Unavailable(chain(&e)))?;
                tracing::info!("read the server's signing keys again");
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
                verify(&self.id_token_verifier()).map_err(KeysError::Invalid)
            }
            other => other.map_err(KeysError::Invalid),
        }
    }

    /// New tokens for `refresh_token`. A new ID token is kept only when it verifies (its
    /// nonce is not checked: refreshed ID tokens need not carry one).
    pub async fn refresh(
        &self,
        refresh_token: &RefreshToken,
    ) -> Result<(CoreTokenResponse, Option<CoreIdToken>), RefreshError> {
        let response = self
            .client
            .exchange_refresh_token(refresh_token)
            .map_err(|e| RefreshError::Unavailable(e.to_string()))?
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => RefreshError::Refused(r.to_string()),
                other => RefreshError::Unavailable(chain(&other)),
            })?;
        let id_token = match response.id_token() {
            Some(token) => {
                let no_nonce = |_: Option<&Nonce>| -> Result<(), String> { Ok(()) };
                let verify = |verifier: &CoreIdTokenVerifier<'static>| {
                    token.claims(verifier, no_nonce).map(|_| ())
                };
                match self.with_current_keys(verify).await {
                    Ok(()) => Some(token.clone()),
                    Err(e) => {
                        tracing::warn!(error = %e, "a refreshed ID token did not verify; keeping the previous one");
                        None
                    }
                }
            }
            None => None,
        };
        Ok((response, id_token))
    }

    /// The user's claims from the userinfo endpoint, with `access_token`.
    pub async fn userinfo(&self, access_token: &AccessToken) -> UserInfo {
        let response = match self
            .http
            .get(self.userinfo.clone())
            .bearer_auth(access_token.secret())
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => return UserInfo::Failed(chain(&e)),
        };
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return UserInfo::Unauthorized;
        }
        if !status.is_success() {
            return UserInfo::Failed(format!("userinfo answered {status}"));
        }
        match response.bytes().await {
            Ok(body) => match serde_json::from_slice(&body) {
                Ok(claims) => UserInfo::Claims(claims),
                Err(e) => UserInfo::Failed(format!("userinfo is not JSON: {e}")),
            },
            Err(e) => UserInfo::Failed(chain(&e)),
        }
    }

    /// Revokes `token` (RFC 7009), authenticating with the client secret. By hand, as
    /// `openidconnect` revokes only over HTTPS and a development server speaks HTTP.
    pub async fn revoke(&self, token: &str, hint: &str) -> Result<(), String> {
        let Some(endpoint) = &self.revocation else {
            return Err("the server names no revocation endpoint".to_owned());
        };
        // RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let response = self
            .http
            .post(endpoint.clone())
            .basic_auth(encode(&self.client_id), Some(encode(&self.client_secret)))
            .form(&[("token", token), ("token_type_hint", hint)])
            .send()
            .await
            .map_err(|e| chain(&e))?;
        match response.status() {
            status if status.is_success() => Ok(()),
            status => Err(format!("the revocation endpoint answered {status}")),
        }
    }

    /// Where to send the browser to end its session at the server (RP-initiated logout), when
    /// the server has an end-session endpoint.
    pub fn end_session_url(&self, id_token: &CoreIdToken) -> Option<Url> {
        let mut request = LogoutRequest::from(self.end_session.clone()?)
            .set_id_token_hint(id_token)
            .set_client_id(ClientId::new(self.client_id.clone()));
        if let Some(uri) = &self.post_logout_redirect {
            request = request.set_post_logout_redirect_uri(uri.clone());
        }
        Some(request.http_get_url())
    }
}

/// Why an ID token could not be verified.
#[derive(Debug, thiserror::Error)]
enum KeysError {
    /// The server's keys could not be read again.
    #[error("the server's signing keys could not be read ({0})")]
    Unavailable(String),
    /// The token is not valid.
    #[error("{0}")]
    Invalid(ClaimsVerificationError),
}

/// Checks the ID token's `at_hash`, when it has one, against the access token it came with.
fn check_access_token_hash(
    id_token: &CoreIdToken,
    verifier: &CoreIdTokenVerifier<'static>,
    claims: &openidconnect::core::CoreIdTokenClaims,
    access_token: &AccessToken,
) -> Result<(), ClaimsVerificationError> {
    let Some(expected) = claims.access_token_hash() else {
        return Ok(());
    };
    let alg = id_token
        .signing_alg()
        .map_err(ClaimsVerificationError::SignatureVerification)?;
    let key = id_token
        .signing_key(verifier)
        .map_err(ClaimsVerificationError::SignatureVerification)?;
    let actual = AccessTokenHash::from_token(access_token, alg, key)
        .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
    if &actual != expected {
        return Err(ClaimsVerificationError::Other(
            "at_hash does not match the access token".to_owned(),
        ));
    }
    Ok(())
}

/// An error and its causes, on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}
