//! Where a `#[task]` fn is written: a free fn, or an associated fn of an `impl` / `trait`
//! block (which cannot be a task). See [`in_impl_block`].

/// Whether `func` is an associated fn of an `impl` or `trait` block rather than a free fn. The
/// fn alone does not say (unless it names `Self`), and the items that make it a task cannot be
/// in such a block: there, rustc would report those items instead of the cause. So the source
/// file is asked, when it can be read and the attribute is indented (a block's items are):
/// every fn of the file with this name and this attribute must be an associated fn. When it
/// cannot tell, the answer is no and the task's items are emitted as usual.
pub(crate) fn in_impl_block(func: &syn::ItemFn) -> bool {
    struct NamesSelf(bool);
    impl<'ast> syn::visit::Visit<'ast> for NamesSelf {
        fn visit_ident(&mut self, i: &'ast syn::Ident) {
            self.0 |= i == "Self";
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut names_self = NamesSelf(false);
    syn::visit::Visit::visit_item_fn(&mut names_self, func);
    names_self.0 || source::associated(&func.sig.ident.to_string())
}

/// What the source file says about where a task is (see [`in_impl_block`]).
mod source {
    use std::cell::RefCell;
    use std::path::PathBuf;

    /// The fns of one file that carry attributes: name, whether associated, the last segment of
    /// each attribute's path.
    type Summary = Vec<(String, bool, Vec<String>)>;

    /// A file read: its path, length and modification time, and its summary.
    type Read = (PathBuf, u64, Option<std::time::SystemTime>, Summary);

    thread_local! {
        /// Files already read in this process.
        static FILES: RefCell<Vec<Read>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn associated(name: &str) -> bool {
        if !proc_macro::is_available() {
            return false;
        }
        let call_site = proc_macro::Span::call_site();
        // `#[sayiir::task(..)]` or a renamed import: the attribute's last path segment.
        let attribute = call_site
            .source_text()
            .and_then(|s| {
                let path = s.strip_prefix("#[")?;
                let end = path.find(|c: char| c == '(' || c == ']' || c.is_whitespace())?;
                Some(path[..end].rsplit("::").next()?.to_string())
            })
            .unwrap_or_else(|| "task".to_string());
        if call_site.column() <= 1 {
            return false;
        }
        let Some(path) = call_site.local_file() else {
            return false;
        };
        let Some(summary) = summary(path) else {
            return false;
        };
        let mut found = summary
            .iter()
            .filter(|(n, _, attrs)| n == name && attrs.contains(&attribute))
            .peekable();
        found.peek().is_some() && found.all(|(_, associated, _)| *associated)
    }

    fn summary(path: PathBuf) -> Option<Summary> {
        let meta = std::fs::metadata(&path).ok()?;
        let (len, modified) = (meta.len(), meta.modified().ok());
        let cached = FILES.with_borrow(|files| {
            files
                .iter()
                .find(|(p, l, m, _)| *p == path && *l == len && *m == modified)
                .map(|(.., s)| s.clone())
        });
        if cached.is_some() {
            return cached;
        }
        let file = syn::parse_file(&std::fs::read_to_string(&path).ok()?).ok()?;
        let mut fns = Fns(Vec::new());
        syn::visit::Visit::visit_file(&mut fns, &file);
        FILES.with_borrow_mut(|files| {
            files.retain(|(p, ..)| *p != path);
            files.push((path, len, modified, fns.0.clone()));
        });
        Some(fns.0)
    }

    struct Fns(Summary);

    impl Fns {
        fn push(&mut self, ident: &syn::Ident, associated: bool, attrs: &[syn::Attribute]) {
            let attrs: Vec<String> = attrs
                .iter()
                .filter_map(|a| a.path().segments.last().map(|s| s.ident.to_string()))
                .collect();
            if !attrs.is_empty() {
                self.0.push((ident.to_string(), associated, attrs));
            }
        }
    }

    impl<'ast> syn::visit::Visit<'ast> for Fns {
        fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
            self.push(&f.sig.ident, false, &f.attrs);
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
            self.push(&f.sig.ident, true, &f.attrs);
            syn::visit::visit_impl_item_fn(self, f);
        }
        fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
            self.push(&f.sig.ident, true, &f.attrs);
            syn::visit::visit_trait_item_fn(self, f);
        }
    }
}
