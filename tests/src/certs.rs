//! Throwaway certificates for TLS tests, made with the `openssl` command (tests that
//! need them say so and skip when it is absent). P-256 keys, valid two days, written
//! into `dir` as `<name>.crt` and `<name>.key`.

use std::path::Path;
use std::process::Command;

/// Runs `openssl` in `dir`; false when it fails or is not installed.
pub fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl").current_dir(dir).args(args).output().is_ok_and(|o| o.status.success())
}

const EC_KEY: [&str; 5] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/// A self-signed certificate (a CA when `extra` adds nothing), with `extra` arguments to
/// `openssl req` (e.g. `-addext` lines).
pub fn self_signed(dir: &Path, name: &str, extra: &[&str]) -> bool {
    let (key, crt, subject) = (format!("{name}.key"), format!("{name}.crt"), format!("/CN={name}"));
    let mut args = vec!["req", "-x509"];
    args.extend(EC_KEY);
    args.extend(["-keyout", &key, "-out", &crt, "-subj", &subject, "-days", "2"]);
    args.extend(extra);
    openssl(dir, &args)
}

/// A certificate for `san` (e.g. `DNS:localhost`, `IP:127.0.0.1`) that is no CA, signed by
/// the CA `ca` (made first with [`self_signed`]).
pub fn signed_by(dir: &Path, ca: &str, name: &str, san: &str) -> bool {
    let (key, csr, crt, subject) =
        (format!("{name}.key"), format!("{name}.csr"), format!("{name}.crt"), format!("/CN={name}"));
    let (ca_key, ca_crt) = (format!("{ca}.key"), format!("{ca}.crt"));
    let ext = format!("{name}.ext");
    let mut request = vec!["req"];
    request.extend(EC_KEY);
    request.extend(["-keyout", &key, "-out", &csr, "-subj", &subject]);
    std::fs::write(dir.join(&ext), format!("subjectAltName={san}\nbasicConstraints=CA:FALSE\n")).is_ok()
        && openssl(dir, &request)
        && openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_crt,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
        )
}
