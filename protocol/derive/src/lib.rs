//! `#[derive(Encode, Decode)]` for `tape-protocol`: the code a person would
//! write by hand to read and write one type in Tape's wire format, with the
//! bytes, checks and errors of the serde path. Use it through
//! `tape_protocol::{Encode, Decode}`; the expansion calls
//! `tape_protocol::__private`, which is not a stable API.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote};
use syn::{
    Data, DataEnum, DeriveInput, Fields, GenericParam, Generics, Index, Lifetime, LifetimeParam,
    parse_macro_input, parse_quote,
};

/// Derives `tape_protocol::Encode`: the bytes `tape_protocol::to_vec`
/// writes for the same type through serde's derive, without attributes.
#[proc_macro_derive(Encode)]
pub fn derive_encode(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    encode(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `tape_protocol::Decode`: reads what `Encode` writes, with the
/// checks and errors of `tape_protocol::from_bytes`.
#[proc_macro_derive(Decode)]
pub fn derive_decode(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    decode(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn union_error(input: &DeriveInput) -> syn::Error {
    syn::Error::new_spanned(
        &input.ident,
        "the wire format has no encoding for a union: derive Encode and Decode for a struct or an enum",
    )
}

/// `generics` with `bound` added to every type parameter.
fn bounded(generics: &Generics, bound: &syn::TypeParamBound) -> Generics {
    let mut generics = generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(bound.clone());
    }
    generics
}

/// How a struct's or a variant's fields are laid out on the wire.
enum Shape {
    /// No fields, no bytes: a unit struct or unit variant.
    Unit,
    /// One unnamed field, written as itself.
    Newtype,
    /// Fields behind a prefix; `tuple` for unnamed ones.
    Fields { tuple: bool },
}

fn shape(fields: &Fields) -> Shape {
    match fields {
        Fields::Unit => Shape::Unit,
        Fields::Unnamed(f) if f.unnamed.len() == 1 => Shape::Newtype,
        Fields::Unnamed(_) => Shape::Fields { tuple: true },
        Fields::Named(_) => Shape::Fields { tuple: false },
    }
}

fn encode(input: &DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    let generics = bounded(&input.generics, &parse_quote!(::tape_protocol::Encode));
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let (body, len) = match &input.data {
        Data::Struct(data) => {
            let access: Vec<Tokens> = data
                .fields
                .iter()
                .enumerate()
                .map(|(i, field)| match &field.ident {
                    Some(ident) => quote!(&self.#ident),
                    None => {
                        let index = Index::from(i);
                        quote!(&self.#index)
                    }
                })
                .collect();
            encode_fields(&shape(&data.fields), &access)
        }
        Data::Enum(data) => encode_enum(data)?,
        Data::Union(_) => return Err(union_error(input)),
    };
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::tape_protocol::Encode for #name #ty_generics #where_clause {
            #[inline]
            fn encode(
                &self,
                __ser: &mut ::tape_protocol::Serializer,
            ) -> ::tape_protocol::Result<()> {
                #body
            }

            #[inline]
            fn encoded_len(&self) -> usize {
                #len
            }
        }
    })
}

/// The statements that write fields given by `access` (expressions of
/// references to them) in `shape`, and the expression of their length.
fn encode_fields(shape: &Shape, access: &[Tokens]) -> (Tokens, Tokens) {
    match shape {
        Shape::Unit => (quote!(::tape_protocol::__private::Ok(())), quote!(0)),
        Shape::Newtype => {
            let field = &access[0];
            (
                quote!(::tape_protocol::Encode::encode(#field, __ser)),
                quote!(::tape_protocol::Encode::encoded_len(#field)),
            )
        }
        Shape::Fields { .. } => (
            quote! {
                ::tape_protocol::__private::encode_fields(__ser, |__ser| {
                    #(::tape_protocol::Encode::encode(#access, __ser)?;)*
                    ::tape_protocol::__private::Ok(())
                })
            },
            quote!(4 #(+ ::tape_protocol::Encode::encoded_len(#access))*),
        ),
    }
}

/// The arms binding each variant's fields as `__f0`, `__f1`, ..., and
/// the pattern for them.
fn bind(variant: &syn::Variant) -> (Tokens, Vec<Tokens>) {
    let name = &variant.ident;
    let bindings: Vec<syn::Ident> = (0..variant.fields.len())
        .map(|i| format_ident!("__f{}", i))
        .collect();
    let pattern = match &variant.fields {
        Fields::Unit => quote!(Self::#name),
        Fields::Unnamed(_) => quote!(Self::#name(#(#bindings),*)),
        Fields::Named(fields) => {
            let names = fields.named.iter().map(|f| &f.ident);
            quote!(Self::#name { #(#names: #bindings),* })
        }
    };
    (pattern, bindings.iter().map(|b| quote!(#b)).collect())
}

fn variant_index(i: usize, variant: &syn::Variant) -> syn::Result<u32> {
    u32::try_from(i).map_err(|_| {
        syn::Error::new_spanned(
            variant,
            "the wire format numbers variants with a u32: too many variants",
        )
    })
}

fn encode_enum(data: &DataEnum) -> syn::Result<(Tokens, Tokens)> {
    if data.variants.is_empty() {
        return Ok((quote!(match *self {}), quote!(match *self {})));
    }
    let mut writes = Vec::new();
    let mut lens = Vec::new();
    for (i, variant) in data.variants.iter().enumerate() {
        let index = variant_index(i, variant)?;
        let (pattern, bindings) = bind(variant);
        let (data, len) = encode_fields(&shape(&variant.fields), &bindings);
        writes.push(quote! {
            #pattern => ::tape_protocol::__private::encode_variant(__ser, #index, |__ser| #data),
        });
        lens.push(quote!(#pattern => 8 + #len,));
    }
    Ok((
        quote!(match self { #(#writes)* }),
        quote!(match self { #(#lens)* }),
    ))
}

fn decode(input: &DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    // The input's lifetime, named unlike any of the type's own.
    let mut de_name = String::from("'__de");
    while input
        .generics
        .lifetimes()
        .any(|l| l.lifetime.ident == de_name[1..])
    {
        de_name.push('_');
    }
    let de = Lifetime::new(&de_name, Span::call_site());
    let generics = bounded(&input.generics, &parse_quote!(::tape_protocol::Decode<#de>));
    let (_, ty_generics, _) = input.generics.split_for_impl();
    // The input outlives every lifetime of the type, so borrowed fields
    // can point into it.
    let mut impl_generics = generics.clone();
    let mut input_lifetime = LifetimeParam::new(de.clone());
    input_lifetime
        .bounds
        .extend(input.generics.lifetimes().map(|l| l.lifetime.clone()));
    impl_generics
        .params
        .insert(0, GenericParam::Lifetime(input_lifetime));
    let (impl_generics, _, where_clause) = impl_generics.split_for_impl();
    let body = match &input.data {
        Data::Struct(data) => decode_fields(&shape(&data.fields), &quote!(Self), &data.fields),
        Data::Enum(data) => decode_enum(data)?,
        Data::Union(_) => return Err(union_error(input)),
    };
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::tape_protocol::Decode<#de> for #name #ty_generics #where_clause {
            #[inline]
            fn decode(
                __de: &mut ::tape_protocol::Deserializer<#de>,
            ) -> ::tape_protocol::Result<Self> {
                #body
            }
        }
    })
}

/// The expression that reads `fields` in `shape` and builds them with
/// `path` (`Self` or `Self::Variant`).
fn decode_fields(shape: &Shape, path: &Tokens, fields: &Fields) -> Tokens {
    let read = quote!(::tape_protocol::Decode::decode(__de)?);
    let build = match fields {
        Fields::Unit => quote!(#path),
        Fields::Unnamed(f) => {
            let reads = f.unnamed.iter().map(|_| &read);
            quote!(#path(#(#reads),*))
        }
        Fields::Named(f) => {
            let names = f.named.iter().map(|f| &f.ident);
            let reads = f.named.iter().map(|_| &read);
            quote!(#path { #(#names: #reads),* })
        }
    };
    match shape {
        Shape::Unit | Shape::Newtype => quote!(::tape_protocol::__private::Ok(#build)),
        Shape::Fields { tuple } => quote! {{
            let __after = ::tape_protocol::__private::enter(__de, #tuple)?;
            let __value = #build;
            ::tape_protocol::__private::leave(__de, __after, #tuple)?;
            ::tape_protocol::__private::Ok(__value)
        }},
    }
}

fn decode_enum(data: &DataEnum) -> syn::Result<Tokens> {
    let count = data.variants.len();
    let mut arms = Vec::new();
    for (i, variant) in data.variants.iter().enumerate() {
        let index = variant_index(i, variant)?;
        let name = &variant.ident;
        let read = decode_fields(
            &shape(&variant.fields),
            &quote!(Self::#name),
            &variant.fields,
        );
        arms.push(quote!(#index => #read,));
    }
    Ok(quote! {
        let (__after, __index) = ::tape_protocol::__private::enter_enum(__de)?;
        let __value = match __index {
            #(#arms)*
            _ => ::tape_protocol::__private::Err(
                ::tape_protocol::__private::unknown_variant(__de, __index, #count),
            ),
        }?;
        ::tape_protocol::__private::leave_enum(__de, __after)?;
        ::tape_protocol::__private::Ok(__value)
    })
}
