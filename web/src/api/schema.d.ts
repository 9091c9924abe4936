// Generated from openapi.json by scripts/gen-api.mjs: do not edit.
export interface paths {
    "/api/docs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["index"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/docs/{file}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["asset"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document. */
        get: operations["openapi_json"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/alerts/history": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["history"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/alerts/rules": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["list_rules"];
        put?: never;
        post: operations["create_rule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/alerts/rules/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["get_rule"];
        put: operations["update_rule"];
        post?: never;
        delete: operations["delete_rule"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/alerts/rules/{id}/evaluate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["evaluate_rule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/alerts/rules/evaluate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * The rule editor's preview: a rule as written in the form, not saved, evaluated as a
         *     new rule would be now (every instance starts from ok).
         */
        post: operations["evaluate_draft"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/alerts/silences": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["list_silences"];
        put?: never;
        post: operations["create_silence"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/alerts/silences/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete: operations["delete_silence"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["login"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["logout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["me"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["list_tokens"];
        put?: never;
        post: operations["create_token"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/tokens/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete: operations["delete_token"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/dashboards": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["list"];
        put?: never;
        post: operations["create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/dashboards/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["get"];
        put: operations["update"];
        post?: never;
        delete: operations["delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/dashboards/{id}/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["export"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/dashboards/{id}/panels": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["add_panel"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/dashboards/{id}/panels/{panelId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put: operations["update_panel"];
        post?: never;
        delete: operations["delete_panel"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/dashboards/import": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["import"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["list_metrics"];
        put?: never;
        /**
         * 202 with `{accepted, rejected, errors}` once the valid points are confirmed by the
         *     broker; 400 when nothing was valid; 413 for oversized bodies; 503 + Retry-After
         *     when the broker cannot take them.
         */
        post: operations["ingest"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/metrics/{name}/tags": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["metric_tags"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/query": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["query"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/query/batch": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["batch"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["list_users"];
        put?: never;
        post: operations["create_user"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete: operations["delete_user"];
        options?: never;
        head?: never;
        patch: operations["update_user"];
        trace?: never;
    };
    "/api/v1/write": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Receives one remote_write 1.0 request. */
        post: operations["write"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/write": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Influx 2.x write. */
        post: operations["write_v2"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["health"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["metrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/ping": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Influx `/ping`: clients check that the server is up. */
        get: operations["ping"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/prometheus/api/v1/alerts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["prom_alerts"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/prometheus/api/v1/label/{name}/values": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["prom_label_values"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/prometheus/api/v1/labels": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["prom_labels"];
        put?: never;
        post: operations["labels_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/prometheus/api/v1/metadata": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["prom_metadata"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/prometheus/api/v1/query": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["prom_query"];
        put?: never;
        post: operations["query_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/prometheus/api/v1/query_exemplars": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["prom_query_exemplars"];
        put?: never;
        post: operations["query_exemplars_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/prometheus/api/v1/query_range": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["prom_query_range"];
        put?: never;
        post: operations["query_range_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/prometheus/api/v1/rules": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["prom_rules"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/prometheus/api/v1/series": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["prom_series"];
        put?: never;
        post: operations["series_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/prometheus/api/v1/status/buildinfo": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["prom_buildinfo"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/prometheus/api/v1/write": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** The same receiver under the Prometheus-compatible prefix. */
        post: operations["write_prefixed"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/query": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Influx 1.x `/query` by GET (as POST). */
        get: operations["influx_query_get"];
        put?: never;
        /**
         * Influx 1.x `/query`, for the `CREATE DATABASE` Telegraf's v1 output sends before
         *     its first write: Vigil has no databases to create (`db` is a tag), so it succeeds.
         *     Any other statement is a 400: Vigil is queried with PromQL or its own API.
         */
        post: operations["influx_query_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/write": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Influx 1.x write. */
        post: operations["write_v1"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description One recorded event. */
        AlertEvent: {
            /** Format: date-time */
            at: string;
            /** Format: int64 */
            id: number;
            labels: components["schemas"]["BTreeMap"];
            /** @description Delivery of its notification: pending, sent, failed, or absent (silenced). */
            notification?: string | null;
            /** Format: uuid */
            ruleId: string;
            ruleName: string;
            severity: string;
            silenced: boolean;
            /** Format: date-time */
            since?: string | null;
            /** @description firing or resolved */
            state: string;
            /** Format: double */
            threshold: number;
            /** Format: double */
            value?: number | null;
        };
        /** @enum {string} */
        AlertState: "ok" | "pending" | "firing";
        Background: {
            /** Format: int64 */
            lagSeconds1h: number;
            /** Format: int64 */
            lagSeconds1m: number;
            /** Format: int64 */
            retentionLastRun: number;
        };
        /** @description The answer to one query of a batch: its data and meta, or its error. */
        BatchAnswer: {
            data: components["schemas"]["QueryData"];
            id: string;
            meta: components["schemas"]["QueryMeta"];
        } | {
            error: components["schemas"]["BatchError"];
            id: string;
        };
        /** @description The error of one query in a batch, shaped like every API error body. */
        BatchError: {
            /** @example VALIDATION_ERROR */
            code: string;
            details?: unknown;
            error: string;
        };
        /** @description How much of the batch was computed: queries equal after parsing share one answer. */
        BatchMeta: {
            /** @description Distinct valid queries actually run (through the cache). */
            computed: number;
            /** @description Queries in the batch. */
            queries: number;
        };
        /** @description One query of a batch: `POST /api/v1/query`'s fields without the range, plus an id. */
        BatchQuery: {
            aggregation?: string | null;
            groupBy?: string[] | null;
            /**
             * @description 1 to 64 characters, unique in the batch; the answer carries it back.
             * @example p1
             */
            id: string;
            matchers?: components["schemas"]["MatcherInput"][] | null;
            /** @example cpu.usage */
            query: string;
            /** Format: int64 */
            since?: number | null;
            step?: string | null;
            tags?: null | components["schemas"]["BTreeMap"];
        };
        /**
         * @description The body of `POST /api/v1/query/batch`: the queries of one dashboard refresh over
         *     one shared range.
         */
        BatchQueryRequest: {
            end: string | number;
            /** @description Each query is parsed on its own, so one bad query fails alone. */
            queries: components["schemas"]["BatchQuery"][];
            start: string | number;
        };
        /** @description `{"data": [answer per query, in request order], "meta": {...}}`. */
        BatchResponse: {
            data: components["schemas"]["BatchAnswer"][];
            meta: components["schemas"]["BatchMeta"];
        };
        BTreeMap: {
            [key: string]: string;
        };
        /**
         * @description `status/buildinfo` data: a `version` and no `features` (which would make Grafana
         *     take Vigil for Mimir).
         */
        BuildInfo: {
            branch: string;
            buildDate: string;
            buildUser: string;
            goVersion: string;
            revision: string;
            version: string;
        };
        /**
         * @description How a stat or gauge panel reduces a series to one number.
         * @enum {string}
         */
        Calculation: "last" | "avg" | "min" | "max" | "sum";
        /** @enum {string} */
        Channel: "email" | "webhook";
        /** @description One dependency: `up` with its latency, or `down` with why. */
        Check: {
            error?: string | null;
            /** Format: double */
            latencyMs?: number | null;
            /** @example up */
            status: string;
        };
        Checks: {
            postgres: components["schemas"]["Check"];
            rabbitmq: components["schemas"]["Check"];
            redis: components["schemas"]["Check"];
        };
        /**
         * @description Progress of the background work, from the gauges its actors keep.
         *     Raw ranges waiting for compaction, and how late the oldest is.
         */
        Compaction: {
            /** Format: int64 */
            lagSeconds: number;
            /** Format: int64 */
            pending: number;
        };
        /**
         * @description Comparison of the evaluated value with the threshold.
         * @enum {string}
         */
        Condition: "gt" | "gte" | "lt" | "lte" | "eq" | "ne";
        /** @description `POST /api/v1/dashboards`. */
        CreateDashboard: {
            description?: string;
            isPublic?: boolean;
            name: string;
            panels?: components["schemas"]["PanelInput"][];
            /** @description Default: last 6 hours, refresh 10s, the browser's time zone. */
            settings?: components["schemas"]["DashboardSettings"];
            /** @description Template variables; default none. */
            variables?: components["schemas"]["Variable"][];
        };
        /** @description A new token with its secret, shown only in this response. */
        CreatedToken: components["schemas"]["TokenInfo"] & {
            /** @description Send as `Authorization: Bearer <token>`. Not retrievable later. */
            token: string;
        };
        /** @description `{"data": token with its secret}`. */
        CreatedTokenBody: {
            data: components["schemas"]["CreatedToken"];
        };
        CreateToken: {
            /**
             * Format: date-time
             * @description Optional expiry; without it the token works until deleted.
             */
            expiresAt?: string | null;
            kind: components["schemas"]["TokenKind"];
            /** @description 1 to 100 characters, not all blank. */
            name: string;
        };
        CreateUser: {
            email: string;
            /** @description 8 to 256 characters. */
            password: string;
            role: components["schemas"]["Role"];
        };
        /**
         * @description How a request authenticated.
         * @enum {string}
         */
        CredentialKind: "session" | "personal" | "ingest";
        /** @description A dashboard with its panels. */
        Dashboard: {
            /** Format: date-time */
            createdAt: string;
            description: string;
            /** Format: uuid */
            id: string;
            isPublic: boolean;
            layout: components["schemas"]["LayoutItem"][];
            name: string;
            /** Format: uuid */
            ownerId: string;
            panels: components["schemas"]["Panel"][];
            settings?: components["schemas"]["DashboardSettings"];
            /** Format: date-time */
            updatedAt: string;
            variables?: components["schemas"]["Variable"][];
            /**
             * Format: int64
             * @description Bumped by every write to the dashboard or its panels.
             */
            version: number;
        };
        /** @description `{"data": dashboard}`. */
        DashboardBody: {
            data: components["schemas"]["Dashboard"];
        };
        /** @description The portable form of a dashboard (export and import): no ids, owner or times. */
        DashboardExport: {
            description?: string;
            name: string;
            panels: components["schemas"]["PanelInput"][];
            /**
             * Format: int32
             * @description Format version of this document; 1.
             */
            schemaVersion: number;
            settings?: components["schemas"]["DashboardSettings"];
            variables?: components["schemas"]["Variable"][];
        };
        /** @description `{"data": [summary], "meta": {"total", "page", "pageSize"}}`. */
        DashboardList: {
            data: components["schemas"]["DashboardSummary"][];
            meta: components["schemas"]["ListMeta"];
        };
        /** @description How the dashboard opens: range, refresh and time zone. */
        DashboardSettings: {
            refresh?: components["schemas"]["Refresh"];
            timeRange?: components["schemas"]["TimeRangeSetting"];
            /**
             * @description `browser`, `utc` or an IANA zone name such as `Europe/Paris`.
             * @example browser
             */
            timeZone?: string;
        };
        /** @description A dashboard in a listing. */
        DashboardSummary: {
            /** Format: date-time */
            createdAt: string;
            description: string;
            /** Format: uuid */
            id: string;
            isPublic: boolean;
            name: string;
            /** @description The owner's email; null once the owner's account is gone. */
            ownerEmail?: string | null;
            /** Format: uuid */
            ownerId: string;
            /** Format: int64 */
            panelCount: number;
            /** Format: date-time */
            updatedAt: string;
            /** Format: int64 */
            version: number;
        };
        /** @description One bucket of a query answer. */
        DataPoint: {
            /** @description Bucket start, RFC 3339 UTC. */
            time: string;
            /** Format: double */
            value: number;
        };
        /**
         * @description Every error: `code` is one of VALIDATION_ERROR, UNAUTHORIZED, FORBIDDEN, NOT_FOUND,
         *     METHOD_NOT_ALLOWED, CONFLICT, RATE_LIMITED, PAYLOAD_TOO_LARGE, UNAVAILABLE,
         *     INTERNAL_ERROR.
         */
        ErrorBody: {
            /** @example VALIDATION_ERROR */
            code: string;
            details?: unknown;
            error: string;
        };
        /** @description One instance in an evaluate-now answer. */
        EvaluatedInstance: {
            /** @description Whether the condition holds (null: no data). */
            conditionMet?: boolean | null;
            labels: components["schemas"]["BTreeMap"];
            silenced: boolean;
            /** @description The current state. */
            state: components["schemas"]["AlertState"];
            /** @description "firing" or "resolved" when this evaluation would notify. */
            transition?: string | null;
            /**
             * Format: double
             * @description The value over the window; null when there was no data.
             */
            value?: number | null;
            /** @description The state this evaluation would lead to. */
            wouldBe: components["schemas"]["AlertState"];
        };
        Evaluation: {
            /** Format: date-time */
            evaluatedAt: string;
            instances: components["schemas"]["EvaluatedInstance"][];
            window: string;
        };
        EvaluationResponse: {
            data: components["schemas"]["Evaluation"];
        };
        /** @description `{"data": export document}`. */
        ExportBody: {
            data: components["schemas"]["DashboardExport"];
        };
        /** @description One invalid field. */
        FieldProblem: {
            field: string;
            reason: string;
        };
        /** @description One result series of a `groupBy` query. */
        GroupSeries: {
            data: components["schemas"]["DataPoint"][];
            /** @description The group's values of the `groupBy` keys (a missing tag is absent). */
            tags: components["schemas"]["BTreeMap"];
        };
        /** @description `GET /health`: `status` healthy, degraded (Redis down) or unhealthy. */
        HealthReport: {
            checks: components["schemas"]["Checks"];
            compaction: components["schemas"]["Compaction"];
            rollups: components["schemas"]["Background"];
            /** @example healthy */
            status: string;
            /** @description Conditions that do not fail the check but need an operator's attention. */
            warnings: string[];
        };
        HistoryMeta: {
            /**
             * Format: int64
             * @description Pass as `cursor` for the next (older) page; absent on the last page.
             */
            nextCursor?: number | null;
        };
        HistoryResponse: {
            data: components["schemas"]["AlertEvent"][];
            meta: components["schemas"]["HistoryMeta"];
        };
        /** @description The answer of `/query` to a statement Vigil accepts. */
        InfluxQueryResults: {
            /** @description One `{"statement_id": 0}` per statement. */
            results: Record<string, never>[];
        };
        /** @description One point of an ingest body. */
        IngestPoint: {
            /** @example cpu.usage */
            name: string;
            tags?: {
                [key: string]: string;
            } | null;
            /**
             * Format: int64
             * @description Milliseconds since the epoch; default now.
             * @example 1795305600000
             */
            timestamp?: number | null;
            /**
             * Format: double
             * @example 41.5
             */
            value: number;
        };
        /** @description The 202 answer of an ingest: what was accepted, what was rejected and why. */
        IngestResponse: {
            accepted: number;
            errors: components["schemas"]["Rejection"][];
            rejected: number;
        };
        /** @description One alert instance's state. */
        InstanceView: {
            /** Format: date-time */
            firingSince?: string | null;
            labels: components["schemas"]["BTreeMap"];
            /** Format: date-time */
            lastEvaluated?: string | null;
            /** Format: double */
            lastValue?: number | null;
            /** Format: date-time */
            pendingSince?: string | null;
            state: components["schemas"]["AlertState"];
        };
        /**
         * @description One entry of a dashboard's layout: panel `i` at `x, y, w, h` (react-grid-layout's
         *     shape, so a drag-and-drop save sends what the grid reports).
         */
        LayoutItem: {
            /** Format: int32 */
            h: number;
            /** Format: uuid */
            i: string;
            /** Format: int32 */
            w: number;
            /** Format: int32 */
            x: number;
            /** Format: int32 */
            y: number;
        };
        /** @description Totals of a listing; paged listings add `page` and `pageSize`. */
        ListMeta: {
            /** Format: int32 */
            page?: number | null;
            /** Format: int32 */
            pageSize?: number | null;
            /** Format: int64 */
            total: number;
        };
        LoginRequest: {
            email: string;
            password: string;
        };
        /** @description One label matcher as sent. */
        MatcherInput: {
            /**
             * @description Label (tag) name.
             * @example host
             */
            label: string;
            op: components["schemas"]["MatchOp"];
            /**
             * @description Value, or a regex (RE2 syntax, anchored at both ends) for `=~` and `!~`.
             * @example web-1|web-2
             */
            value: string;
        };
        /**
         * @description How a matcher compares a label's value.
         * @enum {string}
         */
        MatchOp: "=" | "!=" | "=~" | "!~";
        /** @description One series of a `matrix` result. */
        MatrixItem: {
            metric: components["schemas"]["BTreeMap"];
            values: Record<string, never>[][];
        };
        /** @description The caller, as `GET /api/v1/auth/me` shows it. */
        Me: {
            /** @description `session` or `personal` (token). */
            authenticatedBy: components["schemas"]["CredentialKind"];
            email: string;
            /** Format: uuid */
            id: string;
            role: components["schemas"]["Role"];
        };
        /** @description `{"data": me}`. */
        MeBody: {
            data: components["schemas"]["Me"];
        };
        /** @description One metric's metadata. */
        MetadataEntry: {
            help: string;
            type: string;
            unit: string;
        };
        MetricDefinition: {
            description: string;
            name: string;
            /** @example gauge */
            type: string;
            unit: string;
        };
        /** @description `{"data": [metric], "meta": {"total", "nextAfter"?}}`. */
        MetricList: {
            data: components["schemas"]["MetricDefinition"][];
            meta: components["schemas"]["MetricListMeta"];
        };
        MetricListMeta: {
            /** @description Pass as `after` for the next page; absent on the last page. */
            nextAfter?: string | null;
            /**
             * Format: int64
             * @description Metrics defined in all.
             */
            total: number;
        };
        /**
         * @description What an evaluation that finds no data means.
         * @enum {string}
         */
        NoDataPolicy: "ok" | "alerting" | "keep";
        /** @description Where a rule's notifications go. */
        Notification: {
            /**
             * @description An email address, or an http(s) URL for webhooks.
             * @example https://hooks.example.com/alertmanager
             */
            target: string;
            type: components["schemas"]["Channel"];
        };
        /** @description A stored panel. */
        Panel: {
            /** Format: date-time */
            createdAt: string;
            /** Format: uuid */
            dashboardId: string;
            /** Format: uuid */
            id: string;
            options: components["schemas"]["PanelOptions"];
            position: components["schemas"]["Position"];
            query: components["schemas"]["PanelQuery"];
            title: string;
            type: components["schemas"]["PanelType"];
            /** Format: date-time */
            updatedAt: string;
        };
        /** @description `{"data": panel, "meta": {"dashboardVersion"}}`. */
        PanelBody: {
            data: components["schemas"]["Panel"];
            meta: components["schemas"]["PanelMeta"];
        };
        /** @description A panel as a client sends it (create, update, import). */
        PanelInput: {
            options?: components["schemas"]["PanelOptions"];
            position: components["schemas"]["Position"];
            query: components["schemas"]["PanelQuery"];
            title: string;
            type: components["schemas"]["PanelType"];
        };
        PanelMeta: {
            /** Format: int64 */
            dashboardVersion: number;
        };
        PanelOptions: {
            calculation?: null | components["schemas"]["Calculation"];
            color?: string | null;
            /** Format: double */
            max?: number | null;
            /** Format: double */
            min?: number | null;
            showLegend?: boolean | null;
            thresholds?: components["schemas"]["Threshold"][] | null;
            unit?: string | null;
        };
        /**
         * @description What a panel shows: a query in the shape of `POST /api/v1/query` without the
         *     time range, which the dashboard supplies.
         */
        PanelQuery: {
            /** @description avg, min, max, sum, count, rate, p50, p90, p95 or p99. */
            aggregation: string;
            groupBy?: string[] | null;
            /** @description Metric name. */
            query: string;
            /** @description Bucket width such as "1m"; absent: chosen from the range. */
            step?: string | null;
            tags?: null | components["schemas"]["BTreeMap"];
        };
        /** @enum {string} */
        PanelType: "line" | "area" | "bar" | "gauge" | "stat";
        /** @description Where a panel sits on the grid. */
        Position: {
            /** Format: int32 */
            h: number;
            /** Format: int32 */
            w: number;
            /**
             * Format: int32
             * @description Column, 0 to 23; `x + w` at most 24.
             */
            x: number;
            /** Format: int32 */
            y: number;
        };
        /** @description A firing or pending alert instance in Prometheus' shape. */
        PromAlert: {
            activeAt?: string | null;
            annotations: components["schemas"]["BTreeMap"];
            labels: components["schemas"]["BTreeMap"];
            /** @description pending or firing. */
            state: string;
            value: string;
        };
        PromAlertList: {
            alerts: components["schemas"]["PromAlert"][];
        };
        PromAlertsResponse: {
            data: components["schemas"]["PromAlertList"];
            status: string;
        };
        PromBuildInfoResponse: {
            data: components["schemas"]["BuildInfo"];
            status: string;
        };
        /** @description `{"status":"error","errorType":…,"error":…}`. */
        PromErrorBody: {
            error: string;
            /** @example bad_data */
            errorType: string;
            /** @example error */
            status: string;
        };
        /** @description `query_exemplars`: always an empty list (Vigil keeps no exemplars). */
        PromExemplarsResponse: {
            data: unknown[];
            status: string;
        };
        /** @description `data` maps metric name -> metadata entries. */
        PromMetadataResponse: {
            data: {
                [key: string]: components["schemas"]["MetadataEntry"][];
            };
            status: string;
        };
        /** @description `data` of `query` and `query_range`. */
        PromQueryData: {
            result: Record<string, never>;
            /** @description matrix, vector, scalar or string. */
            resultType: string;
        };
        /** @description `{"status":"success","data":{"resultType":…,"result":…}}`. */
        PromQueryResponse: {
            data: components["schemas"]["PromQueryData"];
            status: string;
        };
        /** @description One Vigil alert rule as a Prometheus alerting rule. */
        PromRule: {
            alerts: components["schemas"]["PromAlert"][];
            annotations: components["schemas"]["BTreeMap"];
            /** Format: double */
            duration: number;
            /** @description ok or err. */
            health: string;
            labels: components["schemas"]["BTreeMap"];
            name: string;
            /** @description What the rule watches, in Vigil's terms (Vigil rules are not PromQL). */
            query: string;
            /** @description inactive, pending or firing. */
            state: string;
            type: string;
        };
        PromRuleGroup: {
            file: string;
            /** Format: double */
            interval: number;
            name: string;
            rules: components["schemas"]["PromRule"][];
        };
        PromRuleGroups: {
            groups: components["schemas"]["PromRuleGroup"][];
        };
        PromRulesResponse: {
            data: components["schemas"]["PromRuleGroups"];
            status: string;
        };
        /** @description `data` is a list of label sets (`series`). */
        PromSeriesResponse: {
            data: components["schemas"]["BTreeMap"][];
            status: string;
        };
        /** @description `data` is a list of strings (`labels`, `label/{name}/values`). */
        PromStringsResponse: {
            data: string[];
            status: string;
        };
        /** @description Buckets of one series, or one series per group when `groupBy` was given. */
        QueryData: components["schemas"]["DataPoint"][] | components["schemas"]["GroupSeries"][];
        /** @description What answered a query. */
        QueryMeta: {
            /** @description Whether the answer came from the cache. */
            cached: boolean;
            end: string;
            /** @description Why a finer tier than the range alone suggests was used, if it was. */
            note?: string | null;
            /** @description That tier's resolution: `raw`, `1m` or `1h`. */
            resolution: string;
            /** @description How many series matched the metric and tag filter. */
            series: number;
            /**
             * Format: int64
             * @description Incremental answers only: the start (ms) of the first bucket sent; the client
             *     replaces what it holds from this time on.
             */
            since?: number | null;
            /** @description The range actually queried, after alignment. */
            start: string;
            step: string;
            /** Format: int64 */
            stepMs: number;
            /** @description The table (storage tier) that answered most of the range. */
            table: string;
            /**
             * @description Every tier that contributed, in time order of their segments (e.g. the
             *     not-yet-materialised tail of a range comes from `points`).
             */
            tiers: string[];
            /** @description Result series dropped by `query.max_series` (groupBy only). */
            truncated?: boolean;
        };
        /** @description The body of `POST /api/v1/query` as sent. */
        QueryRequest: {
            /**
             * @description avg (default), min, max, sum or count.
             * @example avg
             */
            aggregation?: string | null;
            end: string | number;
            /** @description Tag keys: one result series per distinct combination of their values. */
            groupBy?: string[] | null;
            /**
             * @description Prometheus-style label matchers (`=`, `!=`, `=~`, `!~`, regexes fully anchored;
             *     a missing label reads as ""), all of which a series must satisfy, with `tags`.
             */
            matchers?: components["schemas"]["MatcherInput"][] | null;
            /**
             * @description Metric name.
             * @example cpu.usage
             */
            query: string;
            /**
             * Format: int64
             * @description Incremental refresh: the client holds data up to this time (ms since the epoch);
             *     the answer then holds only the buckets from the one containing it on.
             * @example 1795305600000
             */
            since?: number | null;
            start: string | number;
            /**
             * @description Bucket width such as `10s`, `1m`, `1h`; default: about 1,500 buckets.
             * @example 1m
             */
            step?: string | null;
            tags?: null | components["schemas"]["BTreeMap"];
        };
        /** @description The answer to `POST /api/v1/query`. */
        QueryResult: {
            data: components["schemas"]["QueryData"];
            meta: components["schemas"]["QueryMeta"];
        };
        /**
         * @description A dashboard's auto-refresh interval.
         * @enum {string}
         */
        Refresh: "off" | "5s" | "10s" | "30s" | "1m" | "5m";
        /** @description A point that failed validation, by its position in the request. */
        Rejection: {
            index: number;
            reason: string;
        };
        /**
         * @description A user's role. Ordered: every role may do what the roles below it may.
         * @enum {string}
         */
        Role: "viewer" | "editor" | "admin";
        RuleListResponse: {
            data: components["schemas"]["RuleView"][];
        };
        /** @description The query a rule evaluates: one value per instance over the window ending now. */
        RuleQuery: {
            /**
             * @description avg, min, max, sum or count over the window (default avg).
             * @example avg
             */
            aggregation?: string;
            /** @description Each distinct combination of these tag values is its own alert instance. */
            groupBy?: string[];
            /** @example cpu.usage */
            query: string;
            tags?: components["schemas"]["BTreeMap"];
            /**
             * @description Lookback window; default the rule's duration, at least `alerts.min_window`.
             * @example 5m
             */
            window?: string | null;
        };
        /** @description A rule as clients send it (POST and PUT). */
        RuleRequest: {
            condition: components["schemas"]["Condition"];
            /**
             * @description How long the condition must hold before the alert fires ("for"), e.g. "5m"; "0s" fires at once.
             * @example 5m
             */
            duration: string;
            enabled?: boolean;
            /** @example CPU high */
            name: string;
            noData?: components["schemas"]["NoDataPolicy"];
            notification: components["schemas"]["Notification"];
            query: components["schemas"]["RuleQuery"];
            severity: components["schemas"]["Severity"];
            /**
             * Format: double
             * @example 80
             */
            threshold: number;
        };
        RuleResponse: {
            data: components["schemas"]["RuleView"];
        };
        /** @description A rule as the API returns it. */
        RuleView: {
            condition: components["schemas"]["Condition"];
            /** Format: date-time */
            createdAt: string;
            duration: string;
            enabled: boolean;
            /** Format: uuid */
            id: string;
            /**
             * @description Instances that are pending or firing (with `GET /rules/{id}`: every instance
             *     evaluated last, ok ones included, when the live mirror has them).
             */
            instances: components["schemas"]["InstanceView"][];
            name: string;
            noData: components["schemas"]["NoDataPolicy"];
            notification: components["schemas"]["Notification"];
            /** Format: uuid */
            ownerId?: string | null;
            query: components["schemas"]["RuleQuery"];
            severity: components["schemas"]["Severity"];
            /** @description The worst state among the rule's instances. */
            state: components["schemas"]["AlertState"];
            /** Format: double */
            threshold: number;
            /** Format: date-time */
            updatedAt: string;
            /** Format: int64 */
            version: number;
            /** @description The effective lookback window, e.g. "5m". */
            window: string;
        };
        /** @enum {string} */
        Severity: "info" | "warning" | "critical";
        /** @description A validated silence. */
        Silence: {
            comment: string;
            /** Format: uuid */
            createdBy?: string | null;
            /** Format: date-time */
            endsAt: string;
            /** Format: uuid */
            id: string;
            matchers: {
                [key: string]: string;
            };
            /** Format: uuid */
            ruleId?: string | null;
            /** Format: date-time */
            startsAt: string;
        };
        SilenceListResponse: {
            data: components["schemas"]["Silence"][];
        };
        /** @description A silence as clients send it. */
        SilenceRequest: {
            comment?: string;
            /**
             * Format: date-time
             * @description RFC 3339.
             */
            endsAt: string;
            /**
             * @description Label equality matchers on the alert's labels (instance labels plus
             *     `alertname` and `severity`); all must match.
             */
            matchers?: {
                [key: string]: string;
            };
            /**
             * Format: uuid
             * @description Silence one rule; absent: every rule whose labels match.
             */
            ruleId?: string | null;
            /**
             * Format: date-time
             * @description RFC 3339; default now.
             */
            startsAt?: string | null;
        };
        SilenceResponse: {
            data: components["schemas"]["Silence"];
        };
        /** @description `{"data": {key: [values]}, "meta": {"valuesPerKey"}}`. */
        TagValues: {
            data: {
                [key: string]: string[];
            };
            meta: components["schemas"]["TagValuesMeta"];
        };
        TagValuesMeta: {
            /**
             * Format: int32
             * @description The most values listed per key (the first ones by sort order).
             */
            valuesPerKey: number;
        };
        Threshold: {
            color: string;
            /** Format: double */
            value: number;
        };
        /**
         * @description The default time range: each end `now`, `now-6h`, `now/d` (Grafana's relative
         *     syntax) or an RFC 3339 time.
         */
        TimeRangeSetting: {
            /** @example now-6h */
            from: string;
            /** @example now */
            to: string;
        };
        /** @description An API token as its owner sees it (never the secret, which is shown once). */
        TokenInfo: {
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            expiresAt?: string | null;
            /** Format: uuid */
            id: string;
            /** @description `personal` (acts with the owner's role) or `ingest` (may only write points). */
            kind: string;
            /**
             * Format: date-time
             * @description When the token was last resolved from the database: exact to
             *     `auth.credential_cache_ttl`, as uses within that time are served by the cache.
             */
            lastUsedAt?: string | null;
            name: string;
            /** @description The first characters of the token, to tell tokens apart. */
            prefix: string;
            /** Format: uuid */
            userId: string;
        };
        /** @enum {string} */
        TokenKind: "personal" | "ingest";
        /** @description `{"data": [token], "meta": {"total"}}`. */
        TokenList: {
            data: components["schemas"]["TokenInfo"][];
            meta: components["schemas"]["ListMeta"];
        };
        /**
         * @description `PUT /api/v1/dashboards/{id}`: the fields to change and, for drag-and-drop saves,
         *     the whole layout in one request. `version` is required: the write applies only if
         *     it is still the dashboard's version.
         */
        UpdateDashboard: {
            description?: string | null;
            isPublic?: boolean | null;
            layout?: components["schemas"]["LayoutItem"][] | null;
            name?: string | null;
            settings?: null | components["schemas"]["DashboardSettings"];
            /** @description Replaces all variables. */
            variables?: components["schemas"]["Variable"][] | null;
            /** Format: int64 */
            version: number;
        };
        UpdateUser: {
            role: components["schemas"]["Role"];
        };
        /** @description A user as the API shows it (never with the password hash). */
        User: {
            /** Format: date-time */
            createdAt: string;
            email: string;
            /** Format: uuid */
            id: string;
            role: components["schemas"]["Role"];
        };
        /** @description `{"data": user}`. */
        UserBody: {
            data: components["schemas"]["User"];
        };
        /** @description `{"data": [user], "meta": {"total"}}`. */
        UserList: {
            data: components["schemas"]["User"][];
            meta: components["schemas"]["ListMeta"];
        };
        /**
         * @description A template variable: its values are a tag's values (`GET /api/v1/metrics/{metric}/tags`),
         *     and panels refer to it in tag filters as `$name`.
         */
        Variable: {
            /**
             * @description Values selected when the URL names none; empty or absent means All when
             *     `includeAll` is set.
             */
            default?: string[] | null;
            /** @description An "All" choice (drops the filter). */
            includeAll?: boolean;
            /**
             * @description Shown instead of the name.
             * @example Host
             */
            label?: string | null;
            /**
             * @description The metric whose tag values are offered.
             * @example cpu.usage
             */
            metric: string;
            /** @description Several values may be selected at once. */
            multi?: boolean;
            /**
             * @description `[a-zA-Z_][a-zA-Z0-9_]*`, unique on the dashboard.
             * @example host
             */
            name: string;
            /**
             * @description The tag whose values are offered.
             * @example host
             */
            tagKey: string;
        };
        /** @description One element of a `vector` result. */
        VectorItem: {
            metric: components["schemas"]["BTreeMap"];
            value: Record<string, never>[];
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    index: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Swagger UI over this server's OpenAPI document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": unknown;
                };
            };
        };
    };
    asset: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description swagger-ui-bundle.js, swagger-ui.css or init.js */
                file: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A vendored Swagger UI file */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not one of the docs files */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    openapi_json: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OpenAPI 3 document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    history: {
        parameters: {
            query?: {
                /** @description The `meta.nextCursor` of the previous page. */
                cursor?: number;
                /** @description RFC 3339; events at or after. */
                from?: string;
                /** @description Page size (default 100); larger values are served as `alerts.history_page_max`. */
                limit?: number;
                ruleId?: string;
                /** @description firing or resolved */
                state?: string;
                /** @description RFC 3339; events before. */
                to?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Firing and resolved events, newest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HistoryResponse"];
                };
            };
            /** @description Invalid filter */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_rules: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every rule with its current state */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RuleListResponse"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_rule: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RuleRequest"];
            };
        };
        responses: {
            /** @description Created; evaluated from the next tick */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RuleResponse"];
                };
            };
            /** @description Invalid field (named in details) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Viewers may not write rules */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description alerts.max_rules reached */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    get_rule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Rule id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The rule with the state of every instance */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RuleResponse"];
                };
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such rule */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    update_rule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Rule id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RuleRequest"];
            };
        };
        responses: {
            /** @description Replaced; takes effect within one evaluation interval */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RuleResponse"];
                };
            };
            /** @description Invalid field (named in details) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not the rule's owner (or an admin) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such rule */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete_rule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Rule id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted; its history stays */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not the rule's owner (or an admin) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such rule */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    evaluate_rule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Rule id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The value and would-be state of every instance now; nothing is recorded or notified */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EvaluationResponse"];
                };
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such rule */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    evaluate_draft: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RuleRequest"];
            };
        };
        responses: {
            /** @description The value and would-be state of every instance of the unsaved rule now; nothing is stored, recorded or notified */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EvaluationResponse"];
                };
            };
            /** @description Invalid field (named in details) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_silences: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Silences that have not ended */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SilenceListResponse"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_silence: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SilenceRequest"];
            };
        };
        responses: {
            /** @description Created: matching alerts keep their state and history but are not notified */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SilenceResponse"];
                };
            };
            /** @description Invalid field */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete_silence: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Silence id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ended now */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such current silence */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    login: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LoginRequest"];
            };
        };
        responses: {
            /** @description Logged in; the session cookie `vigil_session` is set */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserBody"];
                };
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Wrong email or password */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many failed logins for this account or IP */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    logout: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The session has ended; its cookie no longer works */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Not a session (API tokens are revoked by deleting them) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No live session */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    me: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The caller */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MeBody"];
                };
            };
            /** @description Not authenticated */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_tokens: {
        parameters: {
            query?: {
                /** @description Admins only: list every user's tokens. */
                all?: boolean;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The caller's tokens (secrets are never listed) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TokenList"];
                };
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not authenticated */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_token: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateToken"];
            };
        };
        responses: {
            /** @description Created; the secret is in `token`, shown once */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedTokenBody"];
                };
            };
            /** @description Invalid field */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not authenticated */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Ingest keys are created by admins */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete_token: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Token id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted; the token stops working at once */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not authenticated */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such token of yours */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list: {
        parameters: {
            query?: {
                /** @description 1-based page number (default 1; 0 reads as 1). */
                page?: number;
                /** @description Dashboards per page (default 50; served as 1 to dashboards.max_page_size). */
                pageSize?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Dashboards the caller can see, newest first; meta has total, page, pageSize */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DashboardList"];
                };
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not authenticated */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateDashboard"];
            };
        };
        responses: {
            /** @description Created, with its panels */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DashboardBody"];
                };
            };
            /** @description Invalid fields, all listed in details.fields */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Viewers cannot create dashboards */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Dashboard id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The dashboard with its panels and layout */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DashboardBody"];
                };
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such dashboard, or not visible to the caller */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    update: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Dashboard id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateDashboard"];
            };
        };
        responses: {
            /** @description Updated; the new version is in the body */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DashboardBody"];
                };
            };
            /** @description Invalid fields or layout */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Visible but not the caller's to change */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such dashboard, or not visible */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Stale version; details.currentVersion */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Dashboard id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted with its panels */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Visible but not the caller's to delete */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such dashboard, or not visible */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    export: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Dashboard id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The portable document (no ids, owner or times) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExportBody"];
                };
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such dashboard, or not visible */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    add_panel: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Dashboard id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PanelInput"];
            };
        };
        responses: {
            /** @description Added; meta.dashboardVersion is the dashboard's new version */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PanelBody"];
                };
            };
            /** @description Invalid fields, all listed */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not the caller's dashboard */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such dashboard, or not visible */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Stale version */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    update_panel: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Dashboard id */
                id: string;
                /** @description Panel id */
                panelId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PanelInput"];
            };
        };
        responses: {
            /** @description Replaced; meta.dashboardVersion is the dashboard's new version */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PanelBody"];
                };
            };
            /** @description Invalid fields, all listed */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not the caller's dashboard */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such dashboard or panel */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Stale version */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete_panel: {
        parameters: {
            query?: {
                version?: number;
            };
            header?: never;
            path: {
                /** @description Dashboard id */
                id: string;
                /** @description Panel id */
                panelId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Removed */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not the caller's dashboard */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such dashboard or panel */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Stale version */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    import: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["DashboardExport"];
            };
        };
        responses: {
            /** @description A new private dashboard owned by the caller */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DashboardBody"];
                };
            };
            /** @description Unknown schemaVersion or invalid fields */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Viewers cannot create dashboards */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_metrics: {
        parameters: {
            query?: {
                /**
                 * @description List the metrics whose name sorts after this one (`meta.nextAfter` of the
                 *     previous page).
                 */
                after?: string;
                /**
                 * @description Only the metrics whose name contains this, ignoring case (a picker's
                 *     type-ahead). Characters a metric name may hold (`a-z A-Z 0-9 _ . :`), at most
                 *     `ingest.max_name_len` bytes (200 by default, the bound documented here);
                 *     empty means no filter. Pages, `limit` and `after` work as without it;
                 *     `meta.total` still counts every metric.
                 */
                contains?: string;
                /**
                 * @description Metrics per page, at least 1; default and upper bound `query.catalog_page_max`
                 *     (larger values are served as it).
                 */
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of metric names with type, unit and description */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MetricList"];
                };
            };
            /** @description limit out of range, or contains too long or with a character no metric name holds */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    ingest: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description JSON array of points; may be sent with Content-Encoding: gzip */
        requestBody: {
            content: {
                "application/json": components["schemas"]["IngestPoint"][];
            };
        };
        responses: {
            /** @description Valid points are safe in the broker; invalid ones are listed */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["IngestResponse"];
                };
            };
            /** @description Malformed body or no valid point */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description auth.require_ingest_key is set and no valid ingest key was sent */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description auth.require_ingest_key is set and the token is not an ingest key */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Body, inflated body or point count over the limits */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Over the per-key or per-IP request rate; see Retry-After */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The broker cannot take data; see Retry-After */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    metric_tags: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Metric name */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Tag keys and their values (at most query.catalog_values_max per key) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TagValues"];
                };
            };
            /** @description Invalid metric name */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unknown metric */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    query: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["QueryRequest"];
            };
        };
        responses: {
            /** @description Buckets with data, in time order */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["QueryResult"];
                };
            };
            /** @description Invalid field (named in details) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not authenticated */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Database unavailable or circuit breaker open */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    batch: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BatchQueryRequest"];
            };
        };
        responses: {
            /** @description One answer per query in request order, each its data and meta or its own error */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BatchResponse"];
                };
            };
            /** @description Invalid range, missing or duplicate ids, or more than query.max_batch_queries queries */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not authenticated */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_users: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every user */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserList"];
                };
            };
            /** @description Not authenticated */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not an admin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_user: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateUser"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserBody"];
                };
            };
            /** @description Invalid email or password */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not an admin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The email is taken */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete_user: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description User id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted with their sessions, tokens and dashboards */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not an admin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such user */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description That would leave no admin */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    update_user: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description User id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateUser"];
            };
        };
        responses: {
            /** @description Role changed; the user's sessions and tokens act with it at once */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserBody"];
                };
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Not an admin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such user */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description That would leave no admin */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    write: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description Prometheus remote_write 1.0: a protobuf prometheus.WriteRequest in a snappy block (Content-Encoding: snappy). `__name__` is the metric name, the other labels are tags; stale markers are not stored; metadata fills the metric catalogue. */
        requestBody: {
            content: {
                "application/x-protobuf": number[];
            };
        };
        responses: {
            /** @description Every valid sample is safe in the broker */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Some samples invalid (the valid ones were stored): text/plain with the count and the first reasons; a body that is not a snappy-framed WriteRequest: the API's JSON error */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                    "text/plain": string;
                };
            };
            /** @description auth.require_ingest_key is set and no valid ingest key was sent (Bearer, Token or Basic with the key as password) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description auth.require_ingest_key is set and the token is not an ingest key */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Body, declared decompressed size or sample count over the limits */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description remote_write 2.0 (proto=io.prometheus.write.v2.Request) or another encoding; senders fall back to 1.0 */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description Over the per-key or per-IP request rate; see Retry-After */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The pipeline cannot take data; retry after Retry-After */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    write_v2: {
        parameters: {
            query?: {
                /** @description Bucket; stored as the tag `db` */
                bucket?: string;
                /** @description Organisation; accepted and ignored */
                org?: string;
                /** @description Timestamp unit: ns (default), us, ms, s */
                precision?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description InfluxDB line protocol, as for POST /write (Telegraf's influxdb_v2 output gzips it). */
        requestBody?: {
            content: {
                "text/plain": string | null;
            };
        };
        responses: {
            /** @description Every valid point is safe in the broker */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad lines (named by number; the valid lines were stored) or a bad parameter */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description auth.require_ingest_key is set and no valid ingest key was sent (Token, Bearer or Basic) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Body, inflated body or point count over the limits */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The pipeline cannot take data; retry after Retry-After */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    health: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description PostgreSQL and RabbitMQ reachable (Redis may be down: degraded) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthReport"];
                };
            };
            /** @description A required dependency is down */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthReport"];
                };
            };
        };
    };
    metrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text exposition */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": unknown;
                };
            };
        };
    };
    ping: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Up */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    prom_alerts: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Pending and firing alert instances */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromAlertsResponse"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    prom_label_values: {
        parameters: {
            query?: {
                /** @description Only values of these series */
                "match[]"?: string[];
            };
            header?: never;
            path: {
                /** @description Label name; __name__ lists metric names */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Values, sorted */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromStringsResponse"];
                };
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    prom_labels: {
        parameters: {
            query?: {
                /** @description Only labels of these series */
                "match[]"?: string[];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Label names, sorted */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromStringsResponse"];
                };
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    labels_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description The GET route's parameters as a form */
        requestBody?: {
            content: {
                "application/x-www-form-urlencoded": string | null;
            };
        };
        responses: {
            /** @description As the GET route */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromStringsResponse"];
                };
            };
            /** @description bad_data */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    prom_metadata: {
        parameters: {
            query?: {
                /** @description Only this metric */
                metric?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description TYPE, HELP and UNIT per metric, from metric_definitions */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromMetadataResponse"];
                };
            };
            /** @description A parameter or the body does not parse */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    prom_query: {
        parameters: {
            query: {
                /** @description PromQL expression */
                query: string;
                /** @description Evaluation time: Unix seconds or RFC 3339; default now */
                time?: string;
                /** @description At most query.timeout */
                timeout?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description vector, scalar, string or matrix */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromQueryResponse"];
                };
            };
            /** @description bad_data: parse error, bad parameter or unsupported construct */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description execution: e.g. query.max_samples exceeded */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description timeout, or the database is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    query_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description The GET route's parameters as a form */
        requestBody?: {
            content: {
                "application/x-www-form-urlencoded": string | null;
            };
        };
        responses: {
            /** @description As the GET route */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromQueryResponse"];
                };
            };
            /** @description bad_data */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    prom_query_exemplars: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Always empty */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromExemplarsResponse"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    query_exemplars_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Always empty */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromExemplarsResponse"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    prom_query_range: {
        parameters: {
            query: {
                /** @description Unix seconds or RFC 3339 */
                end: string;
                /** @description PromQL expression */
                query: string;
                /** @description Unix seconds or RFC 3339 */
                start: string;
                /** @description Seconds or a duration such as 15s */
                step: string;
                /** @description At most query.timeout */
                timeout?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Always a matrix */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromQueryResponse"];
                };
            };
            /** @description bad_data, including more than query.max_buckets points per series */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description execution */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description timeout, or the database is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    query_range_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description The GET route's parameters as a form */
        requestBody?: {
            content: {
                "application/x-www-form-urlencoded": string | null;
            };
        };
        responses: {
            /** @description As the GET route */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromQueryResponse"];
                };
            };
            /** @description bad_data */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    prom_rules: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Vigil's alert rules as one Prometheus rule group */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromRulesResponse"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    prom_series: {
        parameters: {
            query: {
                /** @description Series selectors, at least one */
                "match[]": string[];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Label sets of the matching series */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromSeriesResponse"];
                };
            };
            /** @description bad_data */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    series_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description The GET route's parameters as a form */
        requestBody?: {
            content: {
                "application/x-www-form-urlencoded": string | null;
            };
        };
        responses: {
            /** @description As the GET route */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromSeriesResponse"];
                };
            };
            /** @description bad_data */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    prom_buildinfo: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A Prometheus version Grafana accepts; no features key */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromBuildInfoResponse"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
        };
    };
    write_prefixed: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description As POST /api/v1/write. */
        requestBody: {
            content: {
                "application/x-protobuf": number[];
            };
        };
        responses: {
            /** @description Every valid sample is safe in the broker */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description As POST /api/v1/write */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                    "text/plain": string;
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromErrorBody"];
                };
            };
            /** @description As POST /api/v1/write */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description As POST /api/v1/write */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description As POST /api/v1/write */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    influx_query_get: {
        parameters: {
            query: {
                /** @description InfluxQL */
                q: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description CREATE DATABASE succeeded (a no-op) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InfluxQueryResults"];
                };
            };
            /** @description Any other statement */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No session or token, or an ended, revoked or unknown one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    influx_query_post: {
        parameters: {
            query?: {
                /** @description InfluxQL; also accepted as a form field */
                q?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description q=CREATE DATABASE "telegraf" */
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": string;
            };
        };
        responses: {
            /** @description CREATE DATABASE succeeded (a no-op) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InfluxQueryResults"];
                };
            };
            /** @description Any other statement */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description auth.require_ingest_key is set and no valid ingest key was sent */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    write_v1: {
        parameters: {
            query?: {
                /** @description Database; stored as the tag `db` */
                db?: string;
                /** @description Timestamp unit: n (default), u, ms, s, m, h */
                precision?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description InfluxDB line protocol, one point per line, optionally Content-Encoding: gzip. Each numeric field becomes the metric `{measurement}_{field}` with the line's tags; booleans are 1/0; string fields are skipped. */
        requestBody?: {
            content: {
                "text/plain": string | null;
            };
        };
        responses: {
            /** @description Every valid point is safe in the broker */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad lines (named by number in details.errors; the valid lines were stored) or a bad parameter */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description auth.require_ingest_key is set and no valid ingest key was sent (Basic with the key as password, Token or Bearer) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The caller's role does not allow this, or a session request came from another origin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Body, inflated body or point count over the limits */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The pipeline cannot take data; retry after Retry-After */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
}
