//! Dynamic SQL with bound values for both backends: sqlx's own `QueryBuilder` writes `?` for
//! the `Any` driver, which PostgreSQL rejects, so this one numbers its placeholders `$1, $2, …`.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Arguments, Encode, Type};
use std::fmt::{Display, Write};

/// A statement under construction and the values bound to it so far.
pub(super) struct SqlBuilder<'a> {
    sql: String,
    args: AnyArguments<'a>,
    bound: usize,
}

impl<'a> SqlBuilder<'a> {
    /// Starts a statement with `sql`.
    pub(super) fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            args: AnyArguments::default(),
            bound: 0,
        }
    }

    /// Appends SQL text (never a value from a caller: those go through [`Self::push_bind`]).
    pub(super) fn push(&mut self, sql: impl Display) -> &mut Self {
        write!(self.sql, "{sql}").expect("writing to a String");
        self
    }

    /// Appends a placeholder and binds `value` to it.
    pub(super) fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, Any> + Type<Any>,
    {
        self.bound += 1;
        write!(self.sql, "${}", self.bound).expect("writing to a String");
        self.args
            .add(value)
            .expect("values of supported types always encode");
        self
    }

    /// The statement with its values, ready to run.
    pub(super) fn build(&mut self) -> Query<'_, Any, AnyArguments<'_>> {
        sqlx::query_with(&self.sql, std::mem::take(&mut self.args))
    }
}
