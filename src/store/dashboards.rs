//! Dashboards and panels. Every write bumps the dashboard's `version` in the same
//! transaction, and writes that name a version apply only if it is still current, so
//! two editors cannot silently overwrite each other.

use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use crate::model::dashboard::{
    CreateDashboard, Dashboard, DashboardSummary, LayoutItem, Panel, PanelInput, PanelType,
    UpdateDashboard,
};

/// What a versioned write found.
pub enum Versioned<T> {
    Done(T),
    /// The dashboard has moved on; this is its version now.
    Stale(i64),
    NotFound,
    /// The layout names panels that are not on the dashboard.
    UnknownPanels(Vec<Uuid>),
}

const DASHBOARD_COLUMNS: &str =
    "id, name, description, owner_id, is_public, version, variables, settings, created_at, updated_at";

fn panel_from(row: &sqlx::postgres::PgRow) -> Result<Panel, sqlx::Error> {
    let panel_type: String = row.try_get("type")?;
    Ok(Panel {
        id: row.try_get("id")?,
        dashboard_id: row.try_get("dashboard_id")?,
        title: row.try_get("title")?,
        panel_type: PanelType::parse(&panel_type)
            .ok_or_else(|| sqlx::Error::Decode("unknown panel type".into()))?,
        query: row.try_get::<Json<_>, _>("query")?.0,
        options: row.try_get::<Json<_>, _>("options")?.0,
        position: row.try_get::<Json<_>, _>("position")?.0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn dashboard_from(
    row: &sqlx::postgres::PgRow,
    panels: Vec<Panel>,
) -> Result<Dashboard, sqlx::Error> {
    let layout = panels
        .iter()
        .map(|p| LayoutItem {
            i: p.id,
            x: p.position.x,
            y: p.position.y,
            w: p.position.w,
            h: p.position.h,
        })
        .collect();
    Ok(Dashboard {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        owner_id: row.try_get("owner_id")?,
        is_public: row.try_get("is_public")?,
        version: row.try_get("version")?,
        panels,
        layout,
        variables: row.try_get::<Json<_>, _>("variables")?.0,
        settings: row.try_get::<Json<_>, _>("settings")?.0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

async fn insert_panels(
    tx: &mut Transaction<'_, Postgres>,
    dashboard_id: Uuid,
    panels: &[PanelInput],
) -> Result<Vec<Panel>, sqlx::Error> {
    let mut stored = Vec::with_capacity(panels.len());
    for panel in panels {
        let row = sqlx::query(
            "INSERT INTO panels (id, dashboard_id, title, type, query, options, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING id, dashboard_id, title, type, query, options, position, created_at, updated_at",
        )
        .bind(Uuid::new_v4())
        .bind(dashboard_id)
        .bind(panel.title.trim())
        .bind(panel.panel_type.as_str())
        .bind(Json(&panel.query))
        .bind(Json(&panel.options))
        .bind(Json(&panel.position))
        .fetch_one(&mut **tx)
        .await?;
        stored.push(panel_from(&row)?);
    }
    Ok(stored)
}

pub async fn create(
    pg: &PgPool,
    owner: Uuid,
    input: &CreateDashboard,
) -> Result<Dashboard, sqlx::Error> {
    let mut tx = pg.begin().await?;
    let row = sqlx::query(&format!(
        "INSERT INTO dashboards (id, name, description, owner_id, is_public, variables, settings)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {DASHBOARD_COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(input.name.trim())
    .bind(&input.description)
    .bind(owner)
    .bind(input.is_public)
    .bind(Json(&input.variables))
    .bind(Json(&input.settings))
    .fetch_one(&mut *tx)
    .await?;
    let id: Uuid = row.try_get("id")?;
    let panels = insert_panels(&mut tx, id, &input.panels).await?;
    tx.commit().await?;
    dashboard_from(&row, panels)
}

pub async fn get(pg: &PgPool, id: Uuid) -> Result<Option<Dashboard>, sqlx::Error> {
    let Some(row) = sqlx::query(&format!(
        "SELECT {DASHBOARD_COLUMNS} FROM dashboards WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pg)
    .await?
    else {
        return Ok(None);
    };
    let panels = sqlx::query(
        "SELECT id, dashboard_id, title, type, query, options, position, created_at, updated_at
         FROM panels WHERE dashboard_id = $1
         ORDER BY (position->>'y')::int, (position->>'x')::int, created_at",
    )
    .bind(id)
    .fetch_all(pg)
    .await?
    .iter()
    .map(panel_from)
    .collect::<Result<Vec<_>, _>>()?;
    dashboard_from(&row, panels).map(Some)
}

/// Dashboards `viewer` may see (their own and public ones; every one for `None`,
/// an admin), newest first, one page.
pub async fn list(
    pg: &PgPool,
    viewer: Option<Uuid>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<DashboardSummary>, i64), sqlx::Error> {
    let rows = sqlx::query(
        "SELECT d.id, d.name, d.description, d.owner_id, d.is_public, d.version,
                d.created_at, d.updated_at,
                (SELECT count(*) FROM panels p WHERE p.dashboard_id = d.id) AS panel_count,
                u.email AS owner_email,
                count(*) OVER () AS total
         FROM dashboards d LEFT JOIN users u ON u.id = d.owner_id
         WHERE $1::uuid IS NULL OR d.owner_id = $1 OR d.is_public
         ORDER BY d.updated_at DESC, d.id
         LIMIT $2 OFFSET $3",
    )
    .bind(viewer)
    .bind(limit)
    .bind(offset)
    .fetch_all(pg)
    .await?;
    let total = match rows.first() {
        Some(row) => row.try_get("total")?,
        None => sqlx::query_scalar(
            "SELECT count(*) FROM dashboards WHERE $1::uuid IS NULL OR owner_id = $1 OR is_public",
        )
        .bind(viewer)
        .fetch_one(pg)
        .await?,
    };
    let summaries = rows
        .iter()
        .map(|row| {
            Ok(DashboardSummary {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                description: row.try_get("description")?,
                owner_id: row.try_get("owner_id")?,
                owner_email: row.try_get("owner_email")?,
                is_public: row.try_get("is_public")?,
                version: row.try_get("version")?,
                panel_count: row.try_get("panel_count")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((summaries, total))
}

/// Bumps the version if `expected` (when given) is current; tells why not otherwise.
async fn bump(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    expected: Option<i64>,
) -> Result<Versioned<i64>, sqlx::Error> {
    let bumped: Option<i64> = sqlx::query_scalar(
        "UPDATE dashboards SET version = version + 1, updated_at = now()
         WHERE id = $1 AND ($2::bigint IS NULL OR version = $2) RETURNING version",
    )
    .bind(id)
    .bind(expected)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(version) = bumped {
        return Ok(Versioned::Done(version));
    }
    let current: Option<i64> = sqlx::query_scalar("SELECT version FROM dashboards WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match current {
        Some(version) => Versioned::Stale(version),
        None => Versioned::NotFound,
    })
}

/// Applies an update (fields and layout) in one transaction.
pub async fn update(
    pg: &PgPool,
    id: Uuid,
    update: &UpdateDashboard,
) -> Result<Versioned<()>, sqlx::Error> {
    let mut tx = pg.begin().await?;
    match bump(&mut tx, id, Some(update.version)).await? {
        Versioned::Done(_) => {}
        Versioned::Stale(v) => return Ok(Versioned::Stale(v)),
        _ => return Ok(Versioned::NotFound),
    }
    sqlx::query(
        "UPDATE dashboards SET name = COALESCE($2, name),
                description = COALESCE($3, description),
                is_public = COALESCE($4, is_public),
                variables = COALESCE($5, variables),
                settings = COALESCE($6, settings)
         WHERE id = $1",
    )
    .bind(id)
    .bind(update.name.as_deref().map(str::trim))
    .bind(update.description.as_deref())
    .bind(update.is_public)
    .bind(update.variables.as_ref().map(Json))
    .bind(update.settings.as_ref().map(Json))
    .execute(&mut *tx)
    .await?;
    if let Some(layout) = &update.layout {
        let ids: Vec<Uuid> = layout.iter().map(|item| item.i).collect();
        let positions: Vec<Json<_>> = layout.iter().map(|item| Json(item.position())).collect();
        let moved: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE panels p SET position = u.position, updated_at = now()
             FROM UNNEST($2::uuid[], $3::jsonb[]) AS u(id, position)
             WHERE p.id = u.id AND p.dashboard_id = $1
             RETURNING p.id",
        )
        .bind(id)
        .bind(&ids)
        .bind(&positions)
        .fetch_all(&mut *tx)
        .await?;
        if moved.len() != ids.len() {
            let unknown = ids.into_iter().filter(|i| !moved.contains(i)).collect();
            return Ok(Versioned::UnknownPanels(unknown));
        }
    }
    tx.commit().await?;
    Ok(Versioned::Done(()))
}

pub async fn delete(pg: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM dashboards WHERE id = $1")
        .bind(id)
        .execute(pg)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn panel_count(pg: &PgPool, id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM panels WHERE dashboard_id = $1")
        .bind(id)
        .fetch_one(pg)
        .await
}

/// Adds a panel; returns it with the dashboard's new version.
pub async fn add_panel(
    pg: &PgPool,
    dashboard_id: Uuid,
    panel: &PanelInput,
) -> Result<Versioned<(Panel, i64)>, sqlx::Error> {
    let mut tx = pg.begin().await?;
    let version = match bump(&mut tx, dashboard_id, panel.version).await? {
        Versioned::Done(v) => v,
        Versioned::Stale(v) => return Ok(Versioned::Stale(v)),
        _ => return Ok(Versioned::NotFound),
    };
    let mut stored = insert_panels(&mut tx, dashboard_id, std::slice::from_ref(panel)).await?;
    tx.commit().await?;
    Ok(Versioned::Done((stored.remove(0), version)))
}

/// Replaces a panel's content; returns it with the dashboard's new version.
pub async fn update_panel(
    pg: &PgPool,
    dashboard_id: Uuid,
    panel_id: Uuid,
    panel: &PanelInput,
) -> Result<Versioned<(Panel, i64)>, sqlx::Error> {
    let mut tx = pg.begin().await?;
    let version = match bump(&mut tx, dashboard_id, panel.version).await? {
        Versioned::Done(v) => v,
        Versioned::Stale(v) => return Ok(Versioned::Stale(v)),
        _ => return Ok(Versioned::NotFound),
    };
    let row = sqlx::query(
        "UPDATE panels SET title = $3, type = $4, query = $5, options = $6, position = $7,
                updated_at = now()
         WHERE id = $2 AND dashboard_id = $1
         RETURNING id, dashboard_id, title, type, query, options, position, created_at, updated_at",
    )
    .bind(dashboard_id)
    .bind(panel_id)
    .bind(panel.title.trim())
    .bind(panel.panel_type.as_str())
    .bind(Json(&panel.query))
    .bind(Json(&panel.options))
    .bind(Json(&panel.position))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(Versioned::NotFound);
    };
    let stored = panel_from(&row)?;
    tx.commit().await?;
    Ok(Versioned::Done((stored, version)))
}

/// Removes a panel; returns the dashboard's new version.
pub async fn delete_panel(
    pg: &PgPool,
    dashboard_id: Uuid,
    panel_id: Uuid,
    expected: Option<i64>,
) -> Result<Versioned<i64>, sqlx::Error> {
    let mut tx = pg.begin().await?;
    let version = match bump(&mut tx, dashboard_id, expected).await? {
        Versioned::Done(v) => v,
        Versioned::Stale(v) => return Ok(Versioned::Stale(v)),
        _ => return Ok(Versioned::NotFound),
    };
    let done = sqlx::query("DELETE FROM panels WHERE id = $1 AND dashboard_id = $2")
        .bind(panel_id)
        .bind(dashboard_id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(Versioned::NotFound);
    }
    tx.commit().await?;
    Ok(Versioned::Done(version))
}
