//! `#[derive(Coded)]`: an error enum's stable codes written once, where its message is.
//!
//! Every variant gets its code from one place:
//! - the `#[error("...")]` message, when it starts with the code (`"store-full: {0}"`) or with
//!   a path and then the code (`"{path}: viz-glyph: ..."`, `"document.given_names: ..."`): the
//!   first `: `-separated part that is a kebab-case word;
//! - `#[code("portrait-empty")]`, for messages that do not carry their code (the code travels
//!   beside them, e.g. in a job problem);
//! - `#[code(field)]` on a variant with a `code: &'static str` field (a code chosen at run time
//!   from another coded type);
//! - `#[error(transparent)]` or `#[code(inner)]`: the single field's own `code()`.
//!
//! The derive writes `fn code(&self) -> &'static str` and `const CODES`, the codes it knows
//! statically, for the test that checks every code is kebab-case, unique and documented.

use proc_macro::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr, Meta, parse_macro_input};

/// Derives `code()` and `CODES` for an error enum (see the crate docs).
#[proc_macro_derive(Coded, attributes(code))]
pub fn derive_coded(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

enum Source {
    Static(String),
    Field,
    Inner,
}

fn is_code(word: &str) -> bool {
    let b = word.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !word.ends_with('-')
        && !word.contains("--")
}

/// A JSON path or a placeholder for one: `{path}`, `document.given_names`, `items[0].x`.
fn is_path(part: &str) -> bool {
    !part.is_empty()
        && part.chars().any(|c| matches!(c, '.' | '_' | '[' | '{'))
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '[' | ']' | '{' | '}'))
}

/// The code a message starts with: the first `: `-separated part that is a kebab-case word,
/// looked for among the parts before any free text.
fn code_in_message(message: &str) -> Option<String> {
    for part in message.split(": ") {
        if is_code(part) {
            return Some(part.to_owned());
        }
        // Only a path (`{path}`, `document.given_names`) may come before the code.
        if !is_path(part) {
            return None;
        }
    }
    None
}

fn source(variant: &syn::Variant) -> syn::Result<Source> {
    let mut found = None;
    for attr in &variant.attrs {
        if attr.path().is_ident("code") {
            if let Ok(lit) = attr.parse_args::<LitStr>() {
                let code = lit.value();
                if !is_code(&code) {
                    return Err(syn::Error::new_spanned(lit, "a code is a kebab-case word"));
                }
                return Ok(Source::Static(code));
            }
            let ident: syn::Ident = attr.parse_args()?;
            return match ident.to_string().as_str() {
                "field" => Ok(Source::Field),
                "inner" => Ok(Source::Inner),
                _ => Err(syn::Error::new_spanned(
                    ident,
                    "#[code(...)] takes a \"code\", `field` or `inner`",
                )),
            };
        }
        if attr.path().is_ident("error") {
            if let Meta::List(list) = &attr.meta
                && list.tokens.to_string() == "transparent"
            {
                found = Some(Source::Inner);
                continue;
            }
            // The message is the first argument; the format arguments after it are not read.
            let Ok(lit) = attr.parse_args_with(|input: syn::parse::ParseStream| {
                let lit: LitStr = input.parse()?;
                let _rest: proc_macro2::TokenStream = input.parse()?;
                Ok(lit)
            }) else {
                continue;
            };
            let message = lit.value();
            if message.starts_with("{code}: ") {
                found = Some(Source::Field);
            } else if let Some(code) = code_in_message(&message) {
                found = Some(Source::Static(code));
            }
        }
    }
    found.ok_or_else(|| {
        syn::Error::new_spanned(
            &variant.ident,
            "no code: start the #[error] message with it (\"my-code: ...\") or add #[code(\"my-code\")]",
        )
    })
}

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "derive(Coded) is for error enums",
        ));
    };
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut arms = Vec::new();
    let mut codes = Vec::new();
    for variant in &data.variants {
        let v = &variant.ident;
        let arm = match source(variant)? {
            Source::Static(code) => {
                if !codes.contains(&code) {
                    codes.push(code.clone());
                }
                quote! { Self::#v { .. } => #code }
            }
            Source::Field => match &variant.fields {
                Fields::Named(_) => quote! { Self::#v { code, .. } => code },
                _ => {
                    return Err(syn::Error::new_spanned(
                        v,
                        "#[code(field)] needs a named field `code: &'static str`",
                    ));
                }
            },
            Source::Inner => match &variant.fields {
                Fields::Unnamed(f) if f.unnamed.len() == 1 => {
                    quote! { Self::#v(inner) => inner.code() }
                }
                _ => {
                    return Err(syn::Error::new_spanned(
                        v,
                        "a transparent variant has exactly one unnamed field with its own code()",
                    ));
                }
            },
        };
        arms.push(arm);
    }
    Ok(quote! {
        impl #impl_generics #name #ty_generics #where_clause {
            /// The codes this type's variants carry themselves (not those of the errors it
            /// wraps, nor codes chosen at run time).
            pub const CODES: &'static [&'static str] = &[#(#codes),*];

            /// The stable code (kebab-case), for programs and for the documentation.
            pub fn code(&self) -> &'static str {
                match self {
                    #(#arms,)*
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_at_the_start_or_after_a_path() {
        assert_eq!(
            code_in_message("store-full: {0}").as_deref(),
            Some("store-full")
        );
        assert_eq!(code_in_message("backup: {0}").as_deref(), Some("backup"));
        assert_eq!(
            code_in_message("{path}: viz-glyph: character {ch:?}").as_deref(),
            Some("viz-glyph")
        );
        assert_eq!(
            code_in_message("document.given_names: viz-name-too-long: the name").as_deref(),
            Some("viz-name-too-long")
        );
        assert_eq!(code_in_message("the portrait has no bytes"), None);
        assert_eq!(code_in_message("Bad: thing"), None);
        assert_eq!(code_in_message("{0}"), None);
    }
}
