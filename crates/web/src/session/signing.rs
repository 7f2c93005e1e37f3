//! Owners' request signing in the browser (provisioner.md, "Request signing"): an Ed25519 key
//! made by WebCrypto as **non-extractable** (the page can sign with it but never read it), kept in
//! IndexedDB (which stores `CryptoKey`s as they are), and its public key shown as an OpenSSH
//! `ssh-ed25519` line for an operator to register. Owners' provisioner requests are signed with
//! it exactly as the official Python client signs them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, IdbDatabase, IdbRequest, IdbTransactionMode};

const DATABASE: &str = "sliderule";
const STORE: &str = "keys";
const KEY: &str = "owner-signing-key";

/// The browser's signing key: its private half (usable, not readable) and its public line.
#[derive(Clone, Debug)]
pub struct SigningKey {
    private: CryptoKey,
    pub public_line: String,
}

fn fail(what: &str) -> impl Fn(JsValue) -> String + '_ {
    move |error| {
        let why = error
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| format!("{error:?}"));
        format!("{what}: {why}")
    }
}

fn subtle() -> Result<web_sys::SubtleCrypto, String> {
    let crypto = web_sys::window()
        .ok_or("no window")?
        .crypto()
        .map_err(fail("no WebCrypto"))?;
    Ok(crypto.subtle())
}

/// Resolves when an IndexedDB request succeeds, with its result.
async fn finished(request: &IdbRequest) -> Result<JsValue, String> {
    let target = request.clone();
    let promise = Promise::new(&mut |resolve, reject| {
        let on_success = {
            let target = target.clone();
            Closure::once_into_js(move |_: web_sys::Event| {
                let _ = resolve.call1(
                    &JsValue::NULL,
                    &target.result().unwrap_or(JsValue::UNDEFINED),
                );
            })
        };
        let on_error = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = reject.call1(
                &JsValue::NULL,
                &JsValue::from_str("IndexedDB refused the request"),
            );
        });
        target.set_onsuccess(Some(on_success.unchecked_ref()));
        target.set_onerror(Some(on_error.unchecked_ref()));
    });
    JsFuture::from(promise).await.map_err(fail("IndexedDB"))
}

async fn database() -> Result<IdbDatabase, String> {
    let factory = web_sys::window()
        .ok_or("no window")?
        .indexed_db()
        .map_err(fail("no IndexedDB"))?
        .ok_or("this browser has no IndexedDB")?;
    let open = factory
        .open_with_u32(DATABASE, 1)
        .map_err(fail("IndexedDB"))?;
    let upgrade = {
        let open = open.clone();
        Closure::once_into_js(move |_: web_sys::Event| {
            if let Ok(db) = open.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
                let _ = db.create_object_store(STORE);
            }
        })
    };
    open.set_onupgradeneeded(Some(upgrade.unchecked_ref()));
    finished(&open)
        .await?
        .dyn_into::<IdbDatabase>()
        .map_err(fail("IndexedDB"))
}

/// The OpenSSH line of a raw 32-byte Ed25519 public key.
pub fn openssh_line(public: &[u8]) -> String {
    let mut blob = Vec::with_capacity(51);
    for part in [b"ssh-ed25519".as_slice(), public] {
        blob.extend_from_slice(&(part.len() as u32).to_be_bytes());
        blob.extend_from_slice(part);
    }
    format!("ssh-ed25519 {} sliderule-web", STANDARD.encode(blob))
}

async fn public_line(pair: &Object) -> Result<String, String> {
    let public: CryptoKey = Reflect::get(pair, &"publicKey".into())
        .map_err(fail("the key"))?
        .dyn_into()
        .map_err(fail("the key"))?;
    let raw = JsFuture::from(
        subtle()?
            .export_key("raw", &public)
            .map_err(fail("WebCrypto"))?,
    )
    .await
    .map_err(fail("WebCrypto"))?;
    Ok(openssh_line(&Uint8Array::new(&raw).to_vec()))
}

fn key_of(pair: &Object) -> Result<CryptoKey, String> {
    Reflect::get(pair, &"privateKey".into())
        .map_err(fail("the key"))?
        .dyn_into()
        .map_err(fail("the key"))
}

/// The key this browser keeps, if it made one.
pub async fn load() -> Result<Option<SigningKey>, String> {
    let db = database().await?;
    let transaction = db
        .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readonly)
        .map_err(fail("IndexedDB"))?;
    let store = transaction.object_store(STORE).map_err(fail("IndexedDB"))?;
    let found = finished(&store.get(&KEY.into()).map_err(fail("IndexedDB"))?).await?;
    let Some(pair) = found.dyn_ref::<Object>().filter(|_| !found.is_undefined()) else {
        return Ok(None);
    };
    Ok(Some(SigningKey {
        private: key_of(pair)?,
        public_line: public_line(pair).await?,
    }))
}

/// Makes this browser's key (non-extractable) and keeps it.
pub async fn create() -> Result<SigningKey, String> {
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"Ed25519".into()).map_err(fail("WebCrypto"))?;
    let usages = Array::of2(&"sign".into(), &"verify".into());
    let pair = JsFuture::from(
        subtle()?
            .generate_key_with_object(&algorithm, false, &usages)
            .map_err(fail("this browser cannot make Ed25519 keys"))?,
    )
    .await
    .map_err(fail("this browser cannot make Ed25519 keys"))?;
    let pair: Object = pair.dyn_into().map_err(fail("WebCrypto"))?;
    let db = database().await?;
    let transaction = db
        .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
        .map_err(fail("IndexedDB"))?;
    let store = transaction.object_store(STORE).map_err(fail("IndexedDB"))?;
    finished(
        &store
            .put_with_key(&pair, &KEY.into())
            .map_err(fail("IndexedDB"))?,
    )
    .await?;
    Ok(SigningKey {
        private: key_of(&pair)?,
        public_line: public_line(&pair).await?,
    })
}

impl SigningKey {
    /// The standard-base64 Ed25519 signature of `message`.
    pub async fn sign(&self, message: &str) -> Result<String, String> {
        let signed = JsFuture::from(
            subtle()?
                .sign_with_str_and_u8_array("Ed25519", &self.private, message.as_bytes())
                .map_err(fail("WebCrypto"))?,
        )
        .await
        .map_err(fail("WebCrypto"))?;
        Ok(STANDARD.encode(Uint8Array::new(&signed).to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_reads_as_an_openssh_line() {
        let line = openssh_line(&[0u8; 32]);
        assert!(
            line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"),
            "{line}"
        );
        assert!(line.ends_with(" sliderule-web"));
    }
}
