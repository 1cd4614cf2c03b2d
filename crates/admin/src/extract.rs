//! Path and query extractors whose rejections are APIG errors (`APIG.2012`) instead of axum's
//! plain-text 400s.

use crate::error::Error;
use apigw_domain::ApiError;
use axum::extract::{FromRequestParts, Path, Query};
use http::request::Parts;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// Path parameters, deserialised like axum's `Path`.
#[derive(Debug)]
pub struct PathArgs<T>(pub T);

impl<T, S> FromRequestParts<S> for PathArgs<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| PathArgs(v))
            .map_err(|_| Error(ApiError::invalid_param("path")))
    }
}

/// The query string as a map of its last values.
#[derive(Debug, Default)]
pub struct QueryMap(pub HashMap<String, String>);

impl QueryMap {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A filter string of at most `max` characters (`APIG.2012` naming the key otherwise).
    pub fn filter(&self, key: &str, max: usize) -> Result<Option<&str>, Error> {
        match self.get(key) {
            Some(v) if v.chars().count() > max => Err(Error(ApiError::invalid_param(key))),
            Some("") | None => Ok(None),
            other => Ok(other),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Query(m)| QueryMap(m))
            .map_err(|_| Error(ApiError::invalid_param("query")))
    }
}
