// Generated code names everything by absolute path: user items shadowing the prelude and common
// std names do not break it.
#![allow(dead_code)]

mod shadow {
    pub struct Vec;
    pub struct Box;
    pub struct Option;
    pub struct Some;
    pub struct None;
    pub struct Ok;
    pub struct Err;
    pub struct Result;
    pub struct Send;
    pub struct Sync;
    pub struct Future;
    pub struct Duration;
    pub struct Serialize;
    pub struct Deserialize;
    pub struct Default;
    pub struct Clone;
    pub struct Into;
    pub struct From;
    pub struct Iterator;
}

#[allow(unused_imports)]
use shadow::*;

#[sayiir::task]
async fn step(n: u64) -> std::result::Result<u64, std::string::String> {
    std::result::Result::Ok(n + 1)
}

#[sayiir::task]
async fn maybe(n: u64) -> std::option::Option<u64> {
    std::option::Option::Some(n)
}

#[sayiir::workflow]
async fn flow(n: u64) -> std::result::Result<u64, std::string::String> {
    let a = step(n).await?;
    let b: std::option::Option<u64> = maybe(a).await;
    let c = step(b.unwrap_or(0)).await?;
    std::result::Result::Ok(a + c)
}

#[sayiir::workflow]
async fn optional(n: u64) -> std::option::Option<u64> {
    let a = maybe(n).await?;
    std::option::Option::Some(a)
}

fn main() {}
