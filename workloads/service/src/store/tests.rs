//! Store behaviour on both databases: the same assertions run on SQLite and on the real PostgreSQL.

use super::accounts::Role;
use super::testing;
use super::Store;

async fn isolation_and_idempotence(store: Store) {
    let org_a = store.create_organisation("A 公司").await.unwrap();
    let org_b = store.create_organisation("B 公司").await.unwrap();
    let user_a = store
        .create_user(&org_a, "a@example.com", "password-a", Role::BidManager)
        .await
        .unwrap();
    let project = store
        .create_project(&org_a, &user_a, "校园网")
        .await
        .unwrap();

    assert!(store.project(&org_a, &project.id).await.unwrap().is_some());
    assert!(
        store.project(&org_b, &project.id).await.unwrap().is_none(),
        "org B must not see org A's project"
    );
    assert!(!store
        .rename_project(&org_b, &project.id, "stolen")
        .await
        .unwrap());
    assert!(!store.delete_project(&org_b, &project.id).await.unwrap());
    assert_eq!(store.list_projects(&org_b, 50, 0).await.unwrap().len(), 0);
    assert_eq!(store.list_projects(&org_a, 50, 0).await.unwrap().len(), 1);

    let user = store.user_by_email("A@EXAMPLE.COM").await.unwrap().unwrap();
    assert!(user.password_matches("password-a"));
    assert!(!user.password_matches("wrong"));

    store
        .prepare_sections(
            &project.id,
            &[
                ("S1".into(), "技术方案".into()),
                ("S2".into(), "售后服务".into()),
            ],
        )
        .await
        .unwrap();
    assert!(store
        .record_generated_section(&project.id, "S1", "第一次", (10, 20))
        .await
        .unwrap());
    assert!(!store
        .record_generated_section(&project.id, "S1", "重复执行", (10, 20))
        .await
        .unwrap());
    let sections = store.sections(&project.id).await.unwrap();
    assert_eq!(sections[0].content.as_deref(), Some("第一次"));
    assert_eq!(sections[0].version, Some(1));
    assert_eq!(sections[1].status, "pending");

    assert!(store
        .edit_section(&project.id, "S1", "人工修改", &user_a)
        .await
        .unwrap());
    let s1 = &store.sections(&project.id).await.unwrap()[0];
    assert_eq!(
        (s1.content.as_deref(), s1.version, s1.revision_count),
        (Some("人工修改"), Some(2), 1)
    );

    // A new run writes only what is missing: the edited S1 keeps its text, versions and revision count; S2 (still
    // pending) and the new S3 are written; S2 leaves when an outline no longer has it.
    let outline = [
        ("S1".to_string(), "技术方案（改）".to_string()),
        ("S3".to_string(), "培训".to_string()),
    ];
    let to_write = store.prepare_sections(&project.id, &outline).await.unwrap();
    assert_eq!(to_write, ["S3"]);
    let sections = store.sections(&project.id).await.unwrap();
    let shape: Vec<_> = sections
        .iter()
        .map(|s| {
            (
                s.section_id.as_str(),
                s.title.as_str(),
                s.status.as_str(),
                s.revision_count,
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("S1", "技术方案（改）", "done", 1),
            ("S3", "培训", "pending", 0)
        ]
    );
    assert_eq!(sections[0].content.as_deref(), Some("人工修改"));
    assert!(store
        .record_generated_section(&project.id, "S3", "培训内容", (1, 1))
        .await
        .unwrap());
    let nothing = store.prepare_sections(&project.id, &outline).await.unwrap();
    assert!(nothing.is_empty(), "every section written: {nothing:?}");

    let v1 = store
        .save_outline(&project.id, "{\"sections\":[]}", Some(&user_a))
        .await
        .unwrap();
    let v2 = store
        .save_outline(&project.id, "{\"sections\":[1]}", Some(&user_a))
        .await
        .unwrap();
    assert_eq!((v1, v2), (1, 2));
    assert!(
        !store
            .approve_outline(&project.id, v1, &user_a)
            .await
            .unwrap(),
        "a stale version cannot be approved"
    );
    assert!(store
        .approve_outline(&project.id, v2, &user_a)
        .await
        .unwrap());

    let task = store
        .create_task(&project.id, "section", Some("S2"))
        .await
        .unwrap();
    assert!(store.start_task(&task, "w1").await.unwrap().is_some());
    store.finish_task(&task, "done", None).await.unwrap();
    assert!(
        store.start_task(&task, "w2").await.unwrap().is_none(),
        "a finished task is not run again"
    );

    store
        .audit(
            Some(&org_a),
            Some(&user_a),
            "project.created",
            Some(&project.id),
            None,
        )
        .await
        .unwrap();
    assert_eq!(store.audit_entries(&org_a, 10).await.unwrap().len(), 1);
    assert_eq!(store.audit_entries(&org_b, 10).await.unwrap().len(), 0);

    assert!(store
        .ensure_first_admin("admin@example.com", "admin-password")
        .await
        .is_ok_and(|created| !created));
}

#[tokio::test]
async fn sqlite_store_isolates_orgs_and_keeps_one_result_per_section() {
    isolation_and_idempotence(testing::sqlite().await).await;
}

#[tokio::test]
async fn postgres_store_isolates_orgs_and_keeps_one_result_per_section() {
    isolation_and_idempotence(testing::postgres().await).await;
}

#[tokio::test]
async fn first_admin_is_created_once() {
    let store = testing::sqlite().await;
    assert!(store
        .ensure_first_admin("admin@example.com", "admin-password")
        .await
        .unwrap());
    assert!(!store
        .ensure_first_admin("admin@example.com", "admin-password")
        .await
        .unwrap());
    let admin = store
        .user_by_email("admin@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.role, Role::Supervisor);
}

/// `last_seen` moves forward only, and active users are those seen since the cutoff; generation ends are counted
/// once (the second identical end changes nothing).
async fn activity_and_generation_end(store: Store) {
    let org = store.create_organisation("活跃 公司").await.unwrap();
    let seen = store
        .create_user(&org, "seen@example.com", "password-s", Role::BidManager)
        .await
        .unwrap();
    let idle = store
        .create_user(&org, "idle@example.com", "password-i", Role::BidManager)
        .await
        .unwrap();
    assert_eq!(store.count_active_users(0).await.unwrap(), 0);
    store.touch_last_seen(&seen, 10_000).await.unwrap();
    store.touch_last_seen(&idle, 1_000).await.unwrap();
    store.touch_last_seen(&seen, 9_000).await.unwrap();
    assert_eq!(store.count_active_users(10_000).await.unwrap(), 1);
    assert_eq!(store.count_active_users(1_000).await.unwrap(), 2);
    assert_eq!(store.count_active_users(10_001).await.unwrap(), 0);

    let project = store.create_project(&org, &seen, "校园网").await.unwrap();
    store
        .set_project_status(&project.id, "generating")
        .await
        .unwrap();
    assert!(store
        .finish_project_generation(&project.id, "generated")
        .await
        .unwrap());
    assert!(!store
        .finish_project_generation(&project.id, "generated")
        .await
        .unwrap());
}

#[tokio::test]
async fn sqlite_store_counts_active_users_and_generation_ends_once() {
    activity_and_generation_end(testing::sqlite().await).await;
}

#[tokio::test]
async fn postgres_store_counts_active_users_and_generation_ends_once() {
    activity_and_generation_end(testing::postgres().await).await;
}

/// A failed attempt goes back to the queue only while its task is still running: a task cancelled meanwhile (the
/// user pressed cancel during the retry backoff) stays cancelled and is not sent again.
async fn requeue_respects_cancellation(store: Store) {
    let org = store.create_organisation("取消 公司").await.unwrap();
    let user = store
        .create_user(&org, "c@example.com", "password-c", Role::BidManager)
        .await
        .unwrap();
    let project = store.create_project(&org, &user, "校园网").await.unwrap();
    let task = store
        .create_task(&project.id, "section", Some("s1"))
        .await
        .unwrap();
    assert!(store.start_task(&task, "w1").await.unwrap().is_some());
    assert!(store.requeue_task(&task, "LLM timeout").await.unwrap());
    assert!(store.start_task(&task, "w1").await.unwrap().is_some());
    assert_eq!(store.cancel_project_tasks(&project.id).await.unwrap(), 1);
    assert!(!store.requeue_task(&task, "LLM timeout").await.unwrap());
    assert_eq!(
        store.task(&task).await.unwrap().unwrap().status,
        "cancelled"
    );
}

#[tokio::test]
async fn sqlite_requeue_respects_cancellation() {
    requeue_respects_cancellation(testing::sqlite().await).await;
}

#[tokio::test]
async fn postgres_requeue_respects_cancellation() {
    requeue_respects_cancellation(testing::postgres().await).await;
}

#[tokio::test]
async fn an_instance_secret_is_created_once_and_kept() {
    for store in [testing::sqlite().await, testing::postgres().await] {
        let first = store
            .instance_secret("jwt", "first-candidate")
            .await
            .unwrap();
        assert_eq!(first, "first-candidate");
        let again = store
            .instance_secret("jwt", "second-candidate")
            .await
            .unwrap();
        assert_eq!(again, "first-candidate", "the stored secret is kept");
        let other = store.instance_secret("other", "x").await.unwrap();
        assert_eq!(other, "x");
    }
}

/// The monitor's worker list: a worker that stops cleanly leaves it at once; a killed one stays (silent) until
/// the scheduler prunes it.
async fn workers_leave_the_list(store: Store) {
    store.heartbeat("w-clean", "host-a", None).await.unwrap();
    store.heartbeat("w-killed", "host-b", None).await.unwrap();
    store.forget_worker("w-clean").await.unwrap();
    let listed: Vec<String> = store
        .workers()
        .await
        .unwrap()
        .into_iter()
        .map(|(id, host, ..)| format!("{id}@{host}"))
        .collect();
    assert_eq!(listed, ["w-killed@host-b"]);
    assert_eq!(store.prune_workers(super::now() - 60).await.unwrap(), 0);
    assert_eq!(store.prune_workers(super::now() + 1).await.unwrap(), 1);
    assert!(store.workers().await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_workers_leave_the_monitor_list() {
    workers_leave_the_list(testing::sqlite().await).await;
}

#[tokio::test]
async fn postgres_workers_leave_the_monitor_list() {
    workers_leave_the_list(testing::postgres().await).await;
}
