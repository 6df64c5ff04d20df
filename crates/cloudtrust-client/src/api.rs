//! Authenticated calls to the resource APIs, typed with the wire types of
//! `cloudtrust-proto`, and listings as streams that follow continuation tokens.

use cloudtrust_proto::admin::{
    AdministratorResult, AdministratorsResult, SecureClient, SecureClientsResult,
};
use cloudtrust_proto::systemlog::{SystemLogRecord, SystemLogRecords};
use cloudtrust_proto::workspace::WorkspaceClient;
use cloudtrust_proto::{ApiError, MeResponse};
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use crate::retry::{self, Reply, Retry};
use crate::{ClientError, TokenSource};

/// The header naming the customer a request is for.
const CUSTOMER_HEADER: &str = "Citrix-CustomerId";

/// The customer id that stands for "the API client's own customer" at the token endpoint;
/// it names no customer, so it is never sent in [`CUSTOMER_HEADER`].
const ROOT: &str = "root";

/// An HTTP client for Citrix Cloud and cloudtrust resource APIs that authenticates every
/// request with a [`TokenSource`].
///
/// Each request carries `Authorization: CwsAuth Bearer=<token>`, `Accept: application/json`
/// and `Citrix-CustomerId: <customer>`. A `401` means the token was refused (revoked, or
/// signed with a retired key): the token is forgotten and the request sent once more with a
/// new one. `429`/`503` are retried as the [`Retry`] policy allows.
#[derive(Debug)]
pub struct ApiClient {
    source: TokenSource,
    base_url: String,
    retry: Retry,
    page_size: Option<u32>,
    customer: OnceCell<String>,
}

impl ApiClient {
    /// A client calling the APIs at the token source's base URL (its region's host, or the
    /// base URL it was given), with its HTTP client.
    pub fn new(source: TokenSource) -> Self {
        let customer = OnceCell::new_with(
            (!source.customer_id().eq_ignore_ascii_case(ROOT))
                .then(|| source.customer_id().to_owned()),
        );
        ApiClient {
            base_url: source.base_url().to_owned(),
            source,
            retry: Retry::default(),
            page_size: None,
            customer,
        }
    }

    /// Calls the APIs at `base_url` instead (e.g. a service on another host than the token
    /// endpoint). Trailing slashes are ignored.
    pub fn with_base_url(mut self, base_url: &str) -> Self {
        self.base_url = base_url.trim_end_matches('/').to_owned();
        self
    }

    /// How `429`/`503` answers are retried (default [`Retry::default`]).
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Asks paged listings for pages of `size` items instead of the server's default.
    pub fn with_page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// The token source.
    pub fn token_source(&self) -> &TokenSource {
        &self.source
    }

    /// The customer the client acts in: the token source's, or, when that is `root`, the
    /// customer of the token, learnt once from [`me`](Self::me).
    pub async fn customer_id(&self) -> Result<&str, ClientError> {
        let id = self
            .customer
            .get_or_try_init(|| async {
                let me = self.me().await?;
                me.customers
                    .into_iter()
                    .next()
                    .map(|c| c.id)
                    .ok_or_else(|| {
                        ClientError::BadResponse("/cvadapis/me names no customer".to_owned())
                    })
            })
            .await?;
        Ok(id.as_str())
    }

    /// `GET {path}` with `query`, decoded from JSON.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let reply = self.get(path, query).await?;
        serde_json::from_slice(&reply.body).map_err(|e| {
            ClientError::BadResponse(format!(
                "{path} answered {} with an unexpected body: {e}",
                reply.status
            ))
        })
    }

    /// `GET /cvadapis/me`: who the token belongs to, and its customer.
    pub async fn me(&self) -> Result<MeResponse, ClientError> {
        self.get_json("/cvadapis/me", &[]).await
    }

    /// `GET /administrators`: every administrator of the customer, page after page.
    pub fn administrators(&self) -> BoxStream<'_, Result<AdministratorResult, ClientError>> {
        self.paged(
            "/administrators",
            ("maxItemCount", "requestContinuation"),
            Vec::new(),
            |page: AdministratorsResult| (page.items, page.continuation_token),
        )
    }

    /// `GET /secureClients`: every API client of the token's administrator, page after page.
    pub fn secure_clients(&self) -> BoxStream<'_, Result<SecureClient, ClientError>> {
        self.paged(
            "/secureClients",
            ("maxItemCount", "requestContinuation"),
            Vec::new(),
            |page: SecureClientsResult| (page.items, page.continuation_token),
        )
    }

    /// `GET /systemlog/records`: the system log, newest first, page after page; `start` and
    /// `end` (`yyyy-MM-ddTHH:mm:ssZ`) bound the time range (default: everything until now).
    pub fn system_log(
        &self,
        start: Option<&str>,
        end: Option<&str>,
    ) -> BoxStream<'_, Result<SystemLogRecord, ClientError>> {
        let range = [("StartDateTime", start), ("EndDateTime", end)]
            .into_iter()
            .filter_map(|(name, value)| Some((name, value?.to_owned())))
            .collect();
        self.paged(
            "/systemlog/records",
            ("Limit", "ContinuationToken"),
            range,
            |page: SystemLogRecords| (page.items, page.continuation_token),
        )
    }

    /// `GET /{customer}/rpclients`: the customer's Workspace OAuth clients.
    pub async fn workspace_clients(&self) -> Result<Vec<WorkspaceClient>, ClientError> {
        let customer = self.customer_id().await?;
        let path = format!("/{}/rpclients", encode(customer));
        self.get_json(&path, &[]).await
    }

    /// The items of every page of a listing: each page asked for with the previous page's
    /// continuation token, until a page comes without one.
    fn paged<P, T>(
        &self,
        path: &'static str,
        (size_name, token_name): (&'static str, &'static str),
        fixed: Vec<(&'static str, String)>,
        split: fn(P) -> (Vec<T>, Option<String>),
    ) -> BoxStream<'_, Result<T, ClientError>>
    where
        P: DeserializeOwned + Send + 'static,
        T: Send + 'static,
    {
        let size = self.page_size.map(|s| s.to_string());
        // `Some(continuation)` while there is a page to get (`None` for the first);
        // `None` when the last page was seen.
        let first: Option<Option<String>> = Some(None);
        let pages = stream::try_unfold(first, move |state| {
            let mut query = fixed.clone();
            let size = size.clone();
            async move {
                let Some(continuation) = state else {
                    return Ok(None);
                };
                if let Some(size) = size {
                    query.push((size_name, size));
                }
                if let Some(token) = &continuation {
                    query.push((token_name, token.clone()));
                }
                let query: Vec<(&str, &str)> =
                    query.iter().map(|(n, v)| (*n, v.as_str())).collect();
                let (items, next) = split(self.get_json(path, &query).await?);
                let next = next.filter(|t| !t.is_empty());
                if next.is_some() && next == continuation {
                    // The same page again would be asked for forever.
                    return Err(ClientError::BadResponse(format!(
                        "{path} answered the continuation token it was given"
                    )));
                }
                Ok(Some((items, next.map(Some))))
            }
        });
        pages
            .map_ok(|items| stream::iter(items.into_iter().map(Ok::<T, ClientError>)))
            .try_flatten()
            .boxed()
    }

    /// `GET {path}`: the successful answer, or the error it is.
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Reply, ClientError> {
        let mut url = format!("{}{path}", self.base_url);
        if !query.is_empty() {
            url.push('?');
            url.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query)
                    .finish(),
            );
        }
        let mut refused_once = false;
        loop {
            let token = self.source.token().await?;
            let authorization = format!("CwsAuth Bearer={token}");
            let customer = self.customer.get().map(String::as_str);
            let reply = retry::send(self.retry, || {
                let mut request = self
                    .source
                    .http_client()
                    .get(&url)
                    .header(reqwest::header::AUTHORIZATION, &authorization)
                    .header(reqwest::header::ACCEPT, "application/json");
                if let Some(customer) = customer {
                    request = request.header(CUSTOMER_HEADER, customer);
                }
                request
            })
            .await?;
            if reply.status == StatusCode::UNAUTHORIZED && !refused_once {
                refused_once = true;
                self.source.reject(&token).await;
                continue;
            }
            if !reply.status.is_success() {
                return Err(ClientError::Api {
                    path: path.to_owned(),
                    status: reply.status.as_u16(),
                    error: serde_json::from_slice::<ApiError>(&reply.body).ok(),
                });
            }
            return Ok(reply);
        }
    }
}

/// `value` made safe for a path segment.
fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
