//! SQL expressions that differ between the backends, for statements written once for both.

use super::Backend;

/// The database's clock in Unix milliseconds, as an SQL expression.
pub(super) fn database_now_ms(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
        Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
    }
}

/// A column of [`json_rows`]: its key in each JSON object and its SQL type.
#[derive(Clone, Copy)]
pub(super) enum JsonColumn {
    /// A text value.
    Text(&'static str),
    /// An integer.
    BigInt(&'static str),
}

/// The JSON array of objects bound as `param`, as rows `r(<columns>)` to select from: one
/// value for a whole batch, since binding values one by one costs SQLite more with every value
/// a statement has.
pub(super) fn json_rows(backend: Backend, param: &str, columns: &[JsonColumn]) -> String {
    let names = columns.iter().map(|c| match c {
        JsonColumn::Text(n) | JsonColumn::BigInt(n) => *n,
    });
    match backend {
        Backend::Sqlite => {
            let picked: Vec<String> = names
                .map(|n| format!("json_extract(value, '$.{n}') AS {n}"))
                .collect();
            format!(
                "(SELECT {} FROM json_each({param})) AS r",
                picked.join(", ")
            )
        }
        Backend::Postgres => {
            let typed: Vec<String> = columns
                .iter()
                .map(|c| match c {
                    JsonColumn::Text(n) => format!("{n} TEXT"),
                    JsonColumn::BigInt(n) => format!("{n} BIGINT"),
                })
                .collect();
            format!(
                "jsonb_to_recordset(CAST({param} AS JSONB)) AS r({})",
                typed.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_name_and_type_every_column() {
        let cols = [JsonColumn::Text("a"), JsonColumn::BigInt("w")];
        assert_eq!(
            json_rows(Backend::Sqlite, "$1", &cols),
            "(SELECT json_extract(value, '$.a') AS a, json_extract(value, '$.w') AS w \
             FROM json_each($1)) AS r"
        );
        assert_eq!(
            json_rows(Backend::Postgres, "$3", &cols),
            "jsonb_to_recordset(CAST($3 AS JSONB)) AS r(a TEXT, w BIGINT)"
        );
    }
}
