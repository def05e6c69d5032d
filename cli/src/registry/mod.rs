//! The OCI registry: a client for the distribution API, its credentials, a
//! content-addressed cache, safe archive extraction, and publishing.
//!
//! Features and templates are both OCI artifacts, and the engine will need
//! the same credentials, so none of this belongs to one of them (issue 14,
//! step 5; it used to live under `features/`):
//!
//! - [`oci`]: references, manifests, and the client (`resolve`, blobs,
//!   tags, pushes, plain downloads);
//! - [`credentials`]: the logins Docker and Podman keep, shared by the OCI
//!   client and the engine's pulls, builds and pushes;
//! - [`auth`]: challenges, credential sources and tokens;
//! - [`http`]: what `oci` and `auth` share (error messages, bounded reads),
//!   so neither depends on the other for it;
//! - [`store`]: every manifest and blob fetched, by digest, plus each tag's
//!   last resolution, so devc works offline once primed;
//! - [`extract`]: safe unpacking, and packing a folder reproducibly;
//! - [`publish`]: the one publish loop of features and templates.

pub mod auth;
pub mod credentials;
pub mod extract;
pub mod http;
pub mod oci;
pub mod publish;
pub mod store;
