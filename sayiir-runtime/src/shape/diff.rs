//! What changed between two shapes, in words: one line per change, each naming where it is
//! (`Order.lines[].sku`) and what it was and is.

use super::{Named, Shape, Variant, VariantFields};

/// The changes from `old` to `new`, one line each (empty when they encode alike and mean the
/// same). Renamed containers are not changes: their bytes are the same.
pub fn diff(old: &Shape, new: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    walk(old, new, "", &mut out);
    out
}

fn at(path: &str, shape: &Shape) -> String {
    if !path.is_empty() {
        return path.to_string();
    }
    shape
        .container_name()
        .map_or_else(|| shape.to_string(), str::to_string)
}

fn changed(out: &mut Vec<String>, path: &str, old: &Shape, new: &Shape) {
    if path.is_empty() {
        out.push(format!("`{old}` is now `{new}`"));
    } else {
        out.push(format!("`{path}`: `{old}` is now `{new}`"));
    }
}

fn walk(old: &Shape, new: &Shape, path: &str, out: &mut Vec<String>) {
    if old.fingerprint() == new.fingerprint() {
        return;
    }
    match (old, new) {
        (Shape::Struct { fields: a, .. }, Shape::Struct { fields: b, .. }) => {
            fields(a, b, &at(path, new), out);
        }
        (Shape::Enum { variants: a, .. }, Shape::Enum { variants: b, .. }) => {
            variants(a, b, &at(path, new), out);
        }
        (Shape::Newtype { inner: a, .. }, Shape::Newtype { inner: b, .. }) => {
            walk(a, b, &format!("{}.0", at(path, new)), out);
        }
        (Shape::TupleStruct { fields: a, .. }, Shape::TupleStruct { fields: b, .. })
        | (Shape::Tuple(a), Shape::Tuple(b))
            if a.len() == b.len() =>
        {
            let base = at(path, new);
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(x, y, &format!("{base}.{i}"), out);
            }
        }
        (Shape::Option(a), Shape::Option(b)) | (Shape::Seq(a), Shape::Seq(b)) => {
            walk(a, b, &format!("{}[]", at(path, new)), out);
        }
        (Shape::Map { key: ka, value: va }, Shape::Map { key: kb, value: vb }) => {
            let base = at(path, new);
            walk(ka, kb, &format!("{base}.key"), out);
            walk(va, vb, &format!("{base}[]"), out);
        }
        _ => changed(out, path, old, new),
    }
}

/// Two lists of named items matched by name: what only the old one has, what only the new one
/// has, the names both have (in each list's order) and the matched pairs (in the old order).
pub(crate) struct ByName<'a, T> {
    pub(crate) removed: Vec<&'a T>,
    pub(crate) added: Vec<&'a T>,
    pub(crate) old_order: Vec<&'a str>,
    pub(crate) new_order: Vec<&'a str>,
    pub(crate) pairs: Vec<(&'a T, &'a T)>,
}

pub(crate) fn by_name<'a, T>(old: &'a [T], new: &'a [T], name: fn(&T) -> &str) -> ByName<'a, T> {
    let find = |list: &'a [T], n: &str| list.iter().find(|x| name(x) == n);
    let pairs: Vec<(&T, &T)> = old
        .iter()
        .filter_map(|o| find(new, name(o)).map(|n| (o, n)))
        .collect();
    ByName {
        removed: old
            .iter()
            .filter(|o| find(new, name(o)).is_none())
            .collect(),
        added: new
            .iter()
            .filter(|n| find(old, name(n)).is_none())
            .collect(),
        old_order: pairs.iter().map(|(o, _)| name(o)).collect(),
        new_order: new
            .iter()
            .filter(|n| find(old, name(n)).is_some())
            .map(name)
            .collect(),
        pairs,
    }
}

fn fields(a: &[Named], b: &[Named], path: &str, out: &mut Vec<String>) {
    let m = by_name(a, b, |f| f.name.as_str());
    for f in &m.removed {
        out.push(format!("`{path}`: field `{f}` removed"));
    }
    for f in &m.added {
        out.push(format!("`{path}`: field `{f}` added"));
    }
    if m.old_order != m.new_order {
        out.push(format!(
            "`{path}`: fields reordered (`{}` is now `{}`): the format is positional, so stored values would land in other fields",
            m.old_order.join(", "),
            m.new_order.join(", ")
        ));
    }
    for (f, g) in m.pairs {
        walk(&f.shape, &g.shape, &format!("{path}.{}", f.name), out);
    }
}

fn variants(a: &[Variant], b: &[Variant], path: &str, out: &mut Vec<String>) {
    let m = by_name(a, b, |v| v.name.as_str());
    for v in &m.removed {
        out.push(format!("`{path}`: variant `{v}` removed"));
    }
    for w in &m.added {
        out.push(format!("`{path}`: variant `{w}` added"));
    }
    for (v, w) in m.pairs {
        if v.index != w.index {
            out.push(format!(
                "`{path}`: variant `{}` is now number {}, was {}: stored values would decode as another variant",
                v.name, w.index, v.index
            ));
        }
        let vpath = format!("{path}::{}", v.name);
        match (&v.fields, &w.fields) {
            (VariantFields::Unit, VariantFields::Unit) => {}
            (VariantFields::Newtype(x), VariantFields::Newtype(y)) => walk(x, y, &vpath, out),
            (VariantFields::Tuple(x), VariantFields::Tuple(y)) if x.len() == y.len() => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    walk(p, q, &format!("{vpath}.{i}"), out);
                }
            }
            (VariantFields::Struct(x), VariantFields::Struct(y)) => fields(x, y, &vpath, out),
            _ => out.push(format!("`{path}`: variant `{v}` is now `{w}`")),
        }
    }
}
