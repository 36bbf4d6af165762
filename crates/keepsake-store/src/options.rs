//! How to reach object storage: the settings, and building a store for a URL
//! from them and from the environment.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientConfigKey, ClientOptions, ObjectStore, ObjectStoreScheme, RetryConfig,
};

/// S3's smallest part but the last: parts are at least this large.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// How to reach object storage, and how hard to try.
///
/// Credentials, region and endpoint come from the store's standard
/// environment variables (for S3: `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL`; for GCS `GOOGLE_*`; for Azure `AZURE_*`); the fields
/// set here take precedence. Plain `http://` is allowed to a loopback
/// endpoint (a local test server), elsewhere only with `allow_http`.
#[derive(Clone)]
pub struct StoreOptions {
    /// The S3 endpoint (an S3-compatible server's base URL), as `AWS_ENDPOINT_URL`.
    pub endpoint: Option<String>,
    /// The S3 region, as `AWS_REGION`.
    pub region: Option<String>,
    /// The S3 access key id, as `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// The S3 secret access key, as `AWS_SECRET_ACCESS_KEY`; never printed.
    pub secret_access_key: Option<String>,
    /// Any other setting `object_store` knows for the URL's store, by its
    /// name (`aws_session_token`, `google_service_account`,
    /// `azure_storage_account_key`, `proxy_url`, …), applied last.
    pub config: Vec<(String, String)>,
    /// Allow plain `http://` to an endpoint that is not a loopback address.
    pub allow_http: bool,
    /// How many times a failed request (a dropped connection, a server
    /// error, a timeout) is retried, with exponential backoff, before the
    /// operation fails; 0 never retries.
    pub retries: usize,
    /// How long a request may wait for the server to send anything.
    pub read_timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// The size of each uploaded part: memory for an upload is about this
    /// times `parts_in_flight + 1`. At least 5 MiB; an object has at most
    /// 10,000 parts, so 8 MiB parts allow archives up to 80 GB.
    pub part_size: usize,
    /// Parts uploaded at once while the next one fills.
    pub parts_in_flight: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            endpoint: None,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            config: Vec::new(),
            allow_http: false,
            retries: 5,
            read_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            part_size: 8 * 1024 * 1024,
            parts_in_flight: 2,
        }
    }
}

impl fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values of `config` may be secrets too (session tokens, account keys).
        let keys: Vec<&str> = self.config.iter().map(|(key, _)| key.as_str()).collect();
        f.debug_struct("StoreOptions")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "…"),
            )
            .field("config_keys", &keys)
            .field("allow_http", &self.allow_http)
            .field("retries", &self.retries)
            .field("read_timeout", &self.read_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("part_size", &self.part_size)
            .field("parts_in_flight", &self.parts_in_flight)
            .finish()
    }
}

impl StoreOptions {
    pub(crate) fn check(&self) -> keepsake::Result<()> {
        if self.part_size < MIN_PART_SIZE {
            return Err(keepsake::Error::invalid(format!(
                "the part size must be at least {MIN_PART_SIZE} bytes, not {}",
                self.part_size
            )));
        }
        if self.parts_in_flight == 0 {
            return Err(keepsake::Error::invalid(
                "at least one part must be allowed in flight",
            ));
        }
        Ok(())
    }

    /// Retries with exponential backoff, bounded in count; a request's
    /// retries stop five minutes after it started.
    pub(crate) fn retry(&self) -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: self.retries,
            retry_timeout: Duration::from_secs(300),
        }
    }

    /// No limit on a whole request, which would cut off a long download or a
    /// slow part upload; a limit on silence instead.
    fn client(&self) -> ClientOptions {
        ClientOptions::new()
            .with_timeout_disabled()
            .with_read_timeout(self.read_timeout)
            .with_connect_timeout(self.connect_timeout)
            .with_allow_http(self.allow_http)
    }
}

/// Whether `url` points at a loopback address, where plain http is safe.
fn is_loopback(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|url| match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    })
}

/// Applies every environment variable starting with `prefix` that names a
/// setting of the builder, as the builders' own `from_env` does (after the
/// client options, which it would otherwise overwrite).
fn from_env<B, K: std::str::FromStr>(
    mut builder: B,
    prefix: &str,
    apply: impl Fn(B, K, String) -> B,
) -> B {
    for (key, value) in std::env::vars_os() {
        if let (Some(key), Some(value)) = (key.to_str(), value.to_str())
            && key.starts_with(prefix)
            && let Ok(key) = key.to_ascii_lowercase().parse()
        {
            builder = apply(builder, key, value.to_owned());
        }
    }
    builder
}

/// Applies the explicit settings by name; a name the store does not know is an error.
fn apply_config<B, K: std::str::FromStr>(
    mut builder: B,
    config: &[(String, String)],
    store: &str,
    apply: impl Fn(B, K, String) -> B,
) -> keepsake::Result<B> {
    for (key, value) in config {
        let parsed = key.to_ascii_lowercase().parse().map_err(|_| {
            keepsake::Error::invalid(format!("{key} is not a setting of {store} storage"))
        })?;
        builder = apply(builder, parsed, value.clone());
    }
    Ok(builder)
}

/// A store whose settings come from environment variables starting with
/// `$prefix`, then the URL, then the explicit settings.
macro_rules! cloud_store {
    ($builder:ty, $prefix:literal, $name:literal, $url:expr, $options:expr, $built:expr) => {{
        let builder = <$builder>::new().with_client_options($options.client());
        let builder = from_env(builder, $prefix, <$builder>::with_config);
        let builder = apply_config(
            builder.with_url($url.as_str()),
            &$options.config,
            $name,
            <$builder>::with_config,
        )?;
        Arc::new(
            builder
                .with_retry($options.retry())
                .build()
                .map_err($built)?,
        )
    }};
}

/// The store for `url` and the object's path in it.
pub(crate) fn store_for(
    url: &url::Url,
    options: &StoreOptions,
) -> keepsake::Result<(Arc<dyn ObjectStore>, Path)> {
    crate::runtime::install_crypto();
    let (scheme, path) = ObjectStoreScheme::parse(url)
        .map_err(|error| keepsake::Error::invalid(format!("{url}: {error}")))?;
    let built =
        |error: object_store::Error| keepsake::Error::invalid(format!("cannot use {url}: {error}"));
    let store: Arc<dyn ObjectStore> = match scheme {
        ObjectStoreScheme::AmazonS3 => {
            let builder = AmazonS3Builder::new().with_client_options(options.client());
            let mut builder = from_env(builder, "AWS_", AmazonS3Builder::with_config);
            for (key, value) in [
                (AmazonS3ConfigKey::Endpoint, &options.endpoint),
                (AmazonS3ConfigKey::Region, &options.region),
                (AmazonS3ConfigKey::AccessKeyId, &options.access_key_id),
                (
                    AmazonS3ConfigKey::SecretAccessKey,
                    &options.secret_access_key,
                ),
            ] {
                if let Some(value) = value {
                    builder = builder.with_config(key, value);
                }
            }
            let mut builder = apply_config(
                builder.with_url(url.as_str()),
                &options.config,
                "S3",
                AmazonS3Builder::with_config,
            )?;
            if builder
                .get_config_value(&AmazonS3ConfigKey::Endpoint)
                .is_some_and(|endpoint| is_loopback(&endpoint))
            {
                builder = builder.with_config(
                    AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp),
                    "true",
                );
            }
            Arc::new(builder.with_retry(options.retry()).build().map_err(built)?)
        }
        ObjectStoreScheme::GoogleCloudStorage => {
            cloud_store!(
                GoogleCloudStorageBuilder,
                "GOOGLE_",
                "Google Cloud",
                url,
                options,
                built
            )
        }
        ObjectStoreScheme::MicrosoftAzure => {
            cloud_store!(
                MicrosoftAzureBuilder,
                "AZURE_",
                "Azure",
                url,
                options,
                built
            )
        }
        ObjectStoreScheme::Http => {
            let client = options
                .client()
                .with_allow_http(options.allow_http || is_loopback(url.as_str()));
            let mut base = url.clone();
            base.set_path("/");
            base.set_query(None);
            let builder = HttpBuilder::new()
                .with_client_options(client)
                .with_url(base.as_str());
            let builder = apply_config(builder, &options.config, "HTTP", HttpBuilder::with_config)?;
            Arc::new(builder.with_retry(options.retry()).build().map_err(built)?)
        }
        _ => {
            return Err(keepsake::Error::invalid(format!(
                "{url} is not object storage; give a local file by its path"
            )));
        }
    };
    Ok((store, path))
}
