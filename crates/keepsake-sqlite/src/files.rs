//! Files this adapter makes beside the user's: owner-only whatever the
//! umask, and SQLite's side files removed with them.

use std::fs::File;
use std::path::Path;

use keepsake::error::Result;

/// Makes `file` readable and writable by its owner only. SQLite creates a
/// database's journal, write-ahead log and shared-memory file with the
/// database file's own permissions, so they follow.
pub(crate) fn owner_only(file: &File) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Removes the journal, write-ahead log and shared-memory file SQLite may
/// have left beside the database at `path`.
pub(crate) fn remove_side_files(path: &Path) {
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
}
