//! [`ObjectArchive`]: one archive's place in object storage, and the sink
//! and readers for it.

use std::sync::Arc;

use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, ObjectStoreScheme};

use crate::error::{io_error, is_denied, mine, store_error};
use crate::options::{StoreOptions, store_for};
use crate::runtime::block_on;

/// Whether `text` is a URL of object storage this crate reaches: `s3://`,
/// `s3a://`, `gs://`, `az://` (and Azure's other schemes), `http://` or
/// `https://`. Local files are given by their paths instead.
pub fn is_object_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| {
        !matches!(
            ObjectStoreScheme::parse(&url),
            Ok((ObjectStoreScheme::Local | ObjectStoreScheme::Memory, _)) | Err(_)
        )
    })
}

/// An archive's place in object storage: the store, the object's path in it,
/// and the settings to reach it. Making one sends no request.
#[derive(Clone, Debug)]
pub struct ObjectArchive {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) path: Path,
    pub(crate) url: String,
    pub(crate) options: StoreOptions,
    /// Whether to ask for the bucket before an upload: some S3-compatible
    /// servers create a missing bucket on upload instead of refusing it.
    pub(crate) check_bucket: bool,
}

impl ObjectArchive {
    /// The archive at `url` (`s3://bucket/key`, `gs://bucket/key`,
    /// `az://container/key`, `https://host/path`), reached with `options`
    /// and the store's environment variables.
    pub fn from_url(url: &str, options: &StoreOptions) -> keepsake::Result<Self> {
        options.check()?;
        let parsed = url::Url::parse(url)
            .map_err(|error| keepsake::Error::invalid(format!("{url} is not a URL: {error}")))?;
        let (store, path) = store_for(&parsed, options)?;
        if path.as_ref().is_empty() {
            return Err(keepsake::Error::invalid(format!(
                "{url} names no object: give the archive's key after the bucket, as in s3://bucket/backups/chat.keepsake"
            )));
        }
        let check_bucket = matches!(
            ObjectStoreScheme::parse(&parsed),
            Ok((ObjectStoreScheme::AmazonS3, _))
        );
        Ok(ObjectArchive {
            store,
            path,
            url: url.to_owned(),
            options: options.clone(),
            check_bucket,
        })
    }

    /// The archive at `path` in a store the caller built (any
    /// [`ObjectStore`]: an SDK's own, a test double), called `name` in messages.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        path: Path,
        name: impl Into<String>,
        options: &StoreOptions,
    ) -> keepsake::Result<Self> {
        options.check()?;
        Ok(ObjectArchive {
            store,
            path,
            url: name.into(),
            options: options.clone(),
            check_bucket: false,
        })
    }

    /// The archive's URL or name, as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The object's size and version, or `NotFound`.
    pub fn head(&self) -> keepsake::Result<ObjectMeta> {
        match block_on(self.store.head(&self.path))? {
            Ok(meta) => Ok(meta),
            Err(error) => Err(self.explain_missing("read", error)),
        }
    }

    pub(crate) fn already_exists(&self) -> keepsake::Error {
        keepsake::Error::Io(mine(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "{} already exists; a new archive never replaces one unless asked to",
                self.url
            ),
        ))
    }

    /// Whether an object is there now.
    pub(crate) fn exists(&self) -> keepsake::Result<bool> {
        match block_on(self.store.head(&self.path))? {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(store_error("check", &self.url, error)),
        }
    }

    /// Fails with `NotFound` when the bucket does not exist. A listing
    /// limited to this key's name is cheap; credentials that may not list
    /// leave the question open, and the upload itself answers it.
    pub(crate) fn require_bucket(&self, what: &str) -> keepsake::Result<()> {
        let listed = block_on(async {
            let mut listing = self.store.list(Some(&self.path));
            listing.next().await.transpose()
        })?;
        match listed {
            Ok(_) => Ok(()),
            Err(error) if is_denied(&error) => Ok(()),
            Err(error) => Err(store_error(what, &self.url, error)),
        }
    }

    /// A `NotFound` that says whether the bucket is missing, when that can be told.
    pub(crate) fn explain_missing(
        &self,
        what: &str,
        error: object_store::Error,
    ) -> keepsake::Error {
        if matches!(error, object_store::Error::NotFound { .. })
            && self.check_bucket
            && let Err(missing) = self.require_bucket(what)
        {
            return missing;
        }
        keepsake::Error::Io(io_error(what, &self.url, error))
    }
}
