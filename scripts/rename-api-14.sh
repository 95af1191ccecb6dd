#!/usr/bin/env bash
# Issue 14, item 3: the mechanical renames of the public API, re-runnable after merges.
#
#   sayiir::Context  -> sayiir::WorkflowContext   (the workflow's shared state)
#   sayiir::Handle   -> sayiir::InstanceHandle    (the typed handle `Engine::start` returns)
#   sayiir::codec::  -> sayiir::__private::codec:: (the codec is no longer public)
#
# Idempotent: every pattern matches the old name only (`WorkflowContext` and `InstanceHandle`
# contain no word `Context` / `Handle`). Run from anywhere; it edits the tracked `*.rs`, `*.md`
# and `*.stderr` files of the repository it lives in, then runs `cargo fmt --all` (import lists
# are re-sorted).
#
# What it renames:
# - everywhere: `sayiir::Context`, `__private::Context` (also token-spaced, as in the macros'
#   unit tests), `#p::Context`, `sayiir::Handle`, `sayiir::codec::`;
# - every word `Context` / `Handle` in `sayiir-runtime/src` (not `task::Context`,
#   `runtime::Handle`, nor a comment line starting "Context of" / "Handle to"), and in any
#   `.rs` file that imports sayiir's `Context` / `Handle` in a `use` (the facade's re-export
#   list, tests, examples, ui tests);
# - in the macros crate, `&mut Context` (parse fixtures written without a path) and the
#   string `"Context"` (the name the parser compared, a unit test's list), `ctx: Context`;
# - in Markdown: `&mut Context`, `Context::`, `(Context, State)`, and (outside
#   docs/errors.md, which quotes user types of those names) format.md's `**`Context`**`,
#   `` `Handle` ``, `Engine, Handle,` and the codemap's `shared.rs  Context:`.
# - store records: `.history(id, after, 0)` becomes `.history(id, after, None)` and
#   `.history(id, after, 5)` `.history(id, after, std::num::NonZeroUsize::new(5))` (the limit
#   is an `Option<NonZeroUsize>`), and `ListQuery { f: Some(x), .., ..ListQuery::default() }`
#   becomes `ListQuery::new().f(x)..` (ListQuery is `#[non_exhaustive]`); other literals
#   (with `limit`, or without `..ListQuery::default()`) and `Transition` / `NewInstance`
#   literals are converted by hand to their constructors.
# A user's own type named `Context` or `Handle` (ui tests, examples of mistakes) is left alone
# unless its file imports sayiir's type of that name, or is written in one of the forms above
# (the tests written after the rename about users' `Context` types avoid them: `input: Context`,
# `ctx: (Context)`, `&mut my::Context`, `` `Context` `` in prose).
set -euo pipefail
cd "$(dirname "$0")/.."

git ls-files -z -- '*.rs' '*.md' '*.stderr' ':!:scripts/*' | xargs -0 perl -i -e '
    local $/;
    while (my $file = shift @ARGV) {
        open(my $in, "<", $file) or die "$file: $!";
        my $text = <$in>;
        close $in;
        my $orig = $text;
        my $rs = $file =~ /\.rs$/;
        my $md = $file =~ /\.md$/;
        my $runtime = $file =~ m{^sayiir-runtime/src/};
        my $macros = $file =~ m{^sayiir-macros/src/};
        my $imports = sub {
            my ($word) = @_;
            return $text =~ /\buse\s+(?:::)?(?:sayiir|sayiir_runtime|crate::(?:shared|engine))::(?:\{[^;]*\b$word\b[^;]*|$word\b[^;]*);/;
        };
        my $ctx_file = $rs && ($runtime || $imports->("Context"));
        my $handle_file = $rs && ($runtime || $imports->("Handle"));

        $text =~ s/\b(sayiir|__private)(\s*)::(\s*)Context\b/$1$2::$3WorkflowContext/g;
        $text =~ s/#p::Context\b/#p::WorkflowContext/g;
        $text =~ s/\bsayiir::Handle\b/sayiir::InstanceHandle/g;
        $text =~ s/\bsayiir::codec::/sayiir::__private::codec::/g if $rs;
        $text =~ s/&mut Context\b/&mut WorkflowContext/g if $macros || $md;
        $text =~ s/"Context"/"WorkflowContext"/g if $macros;
        $text =~ s/\bctx: Context\b/ctx: WorkflowContext/g if $macros;

        if ($ctx_file || $handle_file) {
            my @lines = split /^/, $text;
            for (@lines) {
                next if m{^\s*//[/!]?\s*(?:Context of|Handle to)\b};
                s/(?<!task::)\bContext\b/WorkflowContext/g if $ctx_file;
                s/(?<!runtime::)\bHandle\b/InstanceHandle/g if $handle_file;
            }
            $text = join "", @lines;
        }

        if ($md) {
            $text =~ s/\bContext::/WorkflowContext::/g;
            $text =~ s/\(Context, State\)/(WorkflowContext, State)/g;
            if ($file ne "docs/errors.md") {
                $text =~ s/\*\*`Context`\*\*/**`WorkflowContext`**/g;
                $text =~ s/`Handle`/`InstanceHandle`/g;
                $text =~ s/\bEngine, Handle,/Engine, InstanceHandle,/g;
                $text =~ s/(shared\.rs\s+)Context:/$1WorkflowContext:/g;
            }
        }

        $text =~ s/\b([Aa]) (\[?`InstanceHandle)/$1n $2/g;

        # Store: `Store::history(id, after, 0)` (0 meant "all") takes `None` now, and a
        # `ListQuery` (non_exhaustive) is built with its setters.
        my $args = qr/(?:[^()]|(\((?:[^()]++|(?-1))*\)))*?/;
        $text =~ s/(\.history\($args),\s*0\)/$1, None)/g if $rs || $md;
        $text =~ s/(\.history\($args),\s*([1-9][0-9]*)\)/$1, std::num::NonZeroUsize::new($3))/g
            if $rs || $md;
        $text =~ s{ListQuery\s*\{\s*((?:\w+:\s*Some(\((?:[^()]++|(?-1))*\)),\s*)+)\.\.ListQuery::default\(\)\s*\}}{
            my $fields = $1;
            my $out = "ListQuery::new()";
            while ($fields =~ /(\w+):\s*Some(\(((?:[^()]++|(?2))*)\)),\s*/g) {
                my ($field, $value) = ($1, $3);
                # These setters take `impl Into<..>`: a bare `.into()` could not be inferred.
                $value =~ s/\.into\(\)$// if $field =~ /^(?:workflow|state_id|after)$/;
                $out .= ".$field($value)";
            }
            $out;
        }ge if $rs || $md;

        if ($text ne $orig) {
            open(my $out, ">", $file) or die "$file: $!";
            print $out $text;
            close $out;
            print STDERR "renamed in $file\n";
        }
    }
'

if command -v cargo >/dev/null; then
    cargo fmt --all
fi
