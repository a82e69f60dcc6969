//! The one hand-written schema both backends share (see `migrations/postgres` and
//! `migrations/sqlite`: same tables, same columns).

diesel::table! {
    regions (id) {
        id -> BigInt,
        name -> Text,
        time_zone -> Text,
        boundary_geojson -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    accounts (id) {
        id -> BigInt,
        role -> Text,
        region_id -> Nullable<BigInt>,
        /// Sealed (`privacy`): read through `db::personal`.
        phone -> Nullable<Text>,
        username -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        display_name -> Text,
        language -> Text,
        active -> Bool,
        created_at -> Timestamp,
        session_version -> Integer,
        /// HMAC of the phone number (`privacy::KeyRing::phone_hash`), what sign-in looks up.
        phone_hash -> Nullable<Text>,
    }
}

diesel::table! {
    service_kinds (id) {
        id -> BigInt,
        region_id -> BigInt,
        code -> Text,
        name_id -> Text,
        name_en -> Text,
        default_duration_minutes -> Integer,
        required_skill -> Nullable<Text>,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    teams (id) {
        id -> BigInt,
        region_id -> BigInt,
        name -> Text,
        depot_lat -> Double,
        depot_lon -> Double,
        vehicle_profile -> Text,
        skills -> Text,
        shift_pattern -> Text,
        max_visits_per_day -> Integer,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    team_members (team_id, account_id) {
        team_id -> BigInt,
        account_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    devices (id) {
        id -> BigInt,
        account_id -> BigInt,
        fcm_token -> Text,
        platform -> Text,
        last_seen_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    visit_requests (id) {
        id -> BigInt,
        citizen_id -> BigInt,
        region_id -> BigInt,
        service_kind_id -> BigInt,
        lat -> Double,
        lon -> Double,
        /// `address`, `notes` and `accessibility_needs` are sealed (`privacy`).
        address -> Text,
        notes -> Nullable<Text>,
        accessibility_needs -> Text,
        priority -> Text,
        earliest_date -> Date,
        deadline -> Date,
        preferred_windows -> Text,
        status -> Text,
        version -> Integer,
        idempotency_key -> Nullable<Text>,
        idempotency_fingerprint -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        entity -> Text,
        entity_id -> BigInt,
        region_id -> Nullable<BigInt>,
        actor_id -> Nullable<BigInt>,
        action -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
        request_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    otp_codes (id) {
        id -> BigInt,
        phone_hash -> Text,
        code_hash -> Text,
        attempts -> Integer,
        expires_at -> Timestamp,
        consumed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        account_id -> BigInt,
        token_hash -> Text,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(accounts -> regions (region_id));
diesel::joinable!(service_kinds -> regions (region_id));
diesel::joinable!(teams -> regions (region_id));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(team_members -> accounts (account_id));
diesel::joinable!(devices -> accounts (account_id));
diesel::joinable!(visit_requests -> service_kinds (service_kind_id));
diesel::joinable!(refresh_tokens -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    regions,
    accounts,
    service_kinds,
    teams,
    team_members,
    devices,
    visit_requests,
    events,
    otp_codes,
    refresh_tokens,
);

diesel::table! {
    outbox (id) {
        id -> BigInt,
        kind -> Text,
        account_id -> BigInt,
        fcm_token -> Text,
        message_json -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        fcm_message_name -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
        claimed_boot -> Nullable<Text>,
        claim_token -> Nullable<Text>,
    }
}

diesel::joinable!(outbox -> accounts (account_id));
diesel::allow_tables_to_appear_in_same_query!(outbox, accounts);

diesel::table! {
    plans (id) {
        id -> BigInt,
        region_id -> BigInt,
        dates -> Text,
        status -> Text,
        time_limit_ms -> BigInt,
        seed -> BigInt,
        requested_by -> Nullable<BigInt>,
        draft_json -> Nullable<Text>,
        error -> Nullable<Text>,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        published_at -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
        claimed_boot -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        attempts -> Integer,
        basis_json -> Nullable<Text>,
    }
}

diesel::table! {
    routes (id) {
        id -> BigInt,
        region_id -> BigInt,
        team_id -> BigInt,
        date -> Date,
        version -> Integer,
        plan_id -> Nullable<BigInt>,
        distance_m -> Double,
        leave_at -> Timestamp,
        back_at -> Timestamp,
        updated_at -> Timestamp,
        locked -> Bool,
    }
}

diesel::table! {
    route_stops (id) {
        id -> BigInt,
        route_id -> BigInt,
        position -> Integer,
        request_id -> BigInt,
        planned_start -> Timestamp,
        planned_end -> Timestamp,
        window_start -> Timestamp,
        window_end -> Timestamp,
        pinned -> Bool,
    }
}

diesel::joinable!(route_stops -> routes (route_id));
diesel::joinable!(route_stops -> visit_requests (request_id));
diesel::allow_tables_to_appear_in_same_query!(routes, route_stops);
diesel::allow_tables_to_appear_in_same_query!(route_stops, visit_requests);

diesel::table! {
    field_events (id) {
        id -> BigInt,
        account_id -> BigInt,
        client_event_id -> Text,
        kind -> Text,
        request_id -> Nullable<BigInt>,
        reason -> Nullable<Text>,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        client_at -> Timestamp,
        received_at -> Timestamp,
        conflict -> Nullable<Text>,
    }
}

diesel::table! {
    team_absences (id) {
        id -> BigInt,
        team_id -> BigInt,
        date -> Date,
        reason -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(team_absences -> teams (team_id));
diesel::allow_tables_to_appear_in_same_query!(team_absences, teams);

diesel::table! {
    region_feed (region_id, seq) {
        region_id -> BigInt,
        seq -> BigInt,
        kind -> Text,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    team_positions (id) {
        id -> BigInt,
        account_id -> BigInt,
        region_id -> BigInt,
        client_position_id -> Text,
        at -> Timestamp,
        lat -> Double,
        lon -> Double,
        accuracy_m -> Nullable<Double>,
        received_at -> Timestamp,
    }
}

diesel::table! {
    audit_reads (id) {
        id -> BigInt,
        account_id -> BigInt,
        request_id -> BigInt,
        fields -> Text,
        via -> Text,
        at -> Timestamp,
    }
}
