//! One process-wide rustls crypto provider.
//!
//! reqwest's `rustls-tls` brings rustls with the `ring` provider only. rustls refuses to pick
//! a default on its own when a dependency later enables a second provider (aws-lc-rs), so the
//! binary and test harnesses install one explicitly and early.

use rustls::crypto::CryptoProvider;

/// Installs `ring` as the process-wide rustls `CryptoProvider`. Idempotent: when a provider is
/// already installed (by us or anyone else) it is kept and this does nothing.
pub fn install_crypto_provider() {
    if CryptoProvider::get_default().is_some() {
        return;
    }
    // Losing a race with another installer is fine: one provider is installed either way.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_once_and_tolerates_repeats() {
        install_crypto_provider();
        let first = CryptoProvider::get_default().map(std::sync::Arc::as_ptr);
        assert!(first.is_some());
        install_crypto_provider();
        let second = CryptoProvider::get_default().map(std::sync::Arc::as_ptr);
        assert_eq!(first, second, "a second call must not replace the provider");
    }
}
