//! Where secrets live on disk: the data dir is created readable by its owner only, and a file
//! holding a secret (the key-encryption key) is refused when it is a symbolic link or others
//! may write it — someone who can replace it chooses the key.

use std::io;
use std::path::Path;

/// Creates `path` (and its parents) as a folder only its owner may enter (`0700`). An
/// existing folder is left as it is.
pub fn create_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Why the secret file at `path` must not be read, if it must not; `Ok` when it is absent.
pub fn check_secret_file(path: &Path) -> Result<(), String> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if metadata.file_type().is_symlink() {
        return Err(format!(
            "{} is a symbolic link; a file holding a secret must be a plain file",
            path.display()
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o022 != 0 {
            return Err(format!(
                "{} may be written by other users; run `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn secret_files_written_by_others_or_linked_are_refused_and_folders_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("data");
        create_dir(&dir).expect("created");
        let mode = std::fs::metadata(&dir)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let file = dir.join("secret");
        assert!(check_secret_file(&file).is_ok(), "absent is fine");
        std::fs::write(&file, "x").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(check_secret_file(&file).is_ok());
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        assert!(check_secret_file(&file).is_err(), "writable by others");
        let link = dir.join("link");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        assert!(check_secret_file(&link).is_err(), "a link");
    }
}
