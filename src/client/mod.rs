//! The command-line client: `hyperfleet clusters|nodepools|statuses|events …` talk to a running
//! server over HTTP only (this module never touches the database), resolve names through the
//! search language, and print tables, JSON, YAML or names. Exit status: 0 done, 1 refused (4xx)
//! or unusable arguments, 2 clap's usage errors, 3 server unreachable or failing (5xx).

pub mod args;
mod error;
mod http;
mod input;
mod output;
mod resolve;
mod watch;

use std::collections::HashMap;
use std::io::Write;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use args::{
    ClientCommand, ClusterAction, CreateArgs, EventAction, EventFilters, NodepoolAction, OutputFormat, PageArgs,
    PatchArgs, StatusAction, StatusOwner, StatusReportArgs,
};
use error::ClientError;
use http::{Api, V1};
use output::{Context, Kind};
use resolve::Found;

/// Runs one client command and returns the process exit status; errors are printed on stderr.
pub async fn run(command: ClientCommand) -> u8 {
    let mut out = std::io::stdout();
    match dispatch(command, &mut out).await.and_then(|()| Ok(out.flush()?)) {
        Ok(()) => 0,
        Err(error) if error.is_broken_pipe() => 0,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "{error}");
            error.exit_code()
        }
    }
}

async fn dispatch(command: ClientCommand, out: &mut dyn Write) -> Result<(), ClientError> {
    match command {
        ClientCommand::Clusters(args) => {
            clusters(&Api::new(&args.connection)?, args.action, args.connection.output, out).await
        }
        ClientCommand::Nodepools(args) => {
            nodepools(&Api::new(&args.connection)?, args.action, args.connection.output, out).await
        }
        ClientCommand::Statuses(args) => {
            statuses(&Api::new(&args.connection)?, args.action, args.connection.output, out).await
        }
        ClientCommand::Events(args) => {
            events(&Api::new(&args.connection)?, args.action, args.connection.output, out).await
        }
    }
}

async fn clusters(
    api: &Api,
    action: ClusterAction,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), ClientError> {
    let context = Context::new();
    match action {
        ClusterAction::List(list) => {
            let query = search_query(&list.search, &list.order_by);
            let listing = fetch_list(api, &format!("{V1}/clusters"), query, &list.pages).await?;
            print_listing(out, Kind::Cluster, &listing, format, list.raw, &context)
        }
        ClusterAction::Get(target) => {
            let cluster = resolve::cluster(api, &target.target).await?.fetch(api).await?;
            output::print_object(out, Kind::Cluster, &cluster, format, &context)
        }
        ClusterAction::Create(create) => {
            let cluster = post(api, &format!("{V1}/clusters"), create_body(&create)?).await?;
            output::print_object(out, Kind::Cluster, &cluster, format, &context)
        }
        ClusterAction::Patch(patch) => {
            let found = resolve::cluster(api, &patch.target.target).await?;
            let cluster = patch_resource(api, &found, &patch).await?;
            output::print_object(out, Kind::Cluster, &cluster, format, &context)
        }
        ClusterAction::Delete(target) => {
            let found = resolve::cluster(api, &target.target).await?;
            delete(api, found, Kind::Cluster, out).await
        }
    }
}

async fn nodepools(
    api: &Api,
    action: NodepoolAction,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), ClientError> {
    let mut context = Context::new();
    match action {
        NodepoolAction::List(list) => {
            let path = match &list.cluster {
                Some(cluster) => format!("{}/nodepools", resolve::cluster(api, cluster).await?.href),
                None => format!("{V1}/nodepools"),
            };
            let query = search_query(&list.list.search, &list.list.order_by);
            let listing = fetch_list(api, &path, query, &list.list.pages).await?;
            if format == OutputFormat::Table {
                context.cluster_names = cluster_names(api, listing.items()).await?;
            }
            print_listing(out, Kind::NodePool, &listing, format, list.list.raw, &context)
        }
        NodepoolAction::Get(get) => {
            let found = resolve::nodepool(api, get.scope.cluster.as_deref(), &get.target.target).await?;
            let pool = found.fetch(api).await?;
            print_node_pool(api, out, &pool, format, context).await
        }
        NodepoolAction::Create(create) => {
            let cluster = resolve::cluster(api, &create.cluster).await?;
            let pool = post(api, &format!("{}/nodepools", cluster.href), create_body(&create.create)?).await?;
            print_node_pool(api, out, &pool, format, context).await
        }
        NodepoolAction::Patch(patch) => {
            let found = resolve::nodepool(api, patch.scope.cluster.as_deref(), &patch.patch.target.target).await?;
            let pool = patch_resource(api, &found, &patch.patch).await?;
            print_node_pool(api, out, &pool, format, context).await
        }
        NodepoolAction::Delete(target) => {
            let found = resolve::nodepool(api, target.scope.cluster.as_deref(), &target.target.target).await?;
            delete(api, found, Kind::NodePool, out).await
        }
    }
}

async fn print_node_pool(
    api: &Api,
    out: &mut dyn Write,
    pool: &Value,
    format: OutputFormat,
    mut context: Context,
) -> Result<(), ClientError> {
    if format == OutputFormat::Table {
        context.cluster_names = cluster_names(api, std::slice::from_ref(pool)).await?;
    }
    output::print_object(out, Kind::NodePool, pool, format, &context)
}

async fn statuses(
    api: &Api,
    action: StatusAction,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), ClientError> {
    let context = Context::new();
    match action {
        StatusAction::List(list) => {
            let owner = status_owner(api, &list.owner).await?;
            let listing = fetch_list(api, &format!("{}/statuses", owner.href), Vec::new(), &list.pages).await?;
            print_listing(out, Kind::Status, &listing, format, list.raw, &context)
        }
        StatusAction::Report(report) => {
            let body = report_body(&report)?;
            let owner = status_owner(api, &report.owner).await?;
            let reply = api.write(Method::POST, &format!("{}/statuses", owner.href), &body).await?;
            match reply.body {
                Some(status) if reply.status == StatusCode::CREATED => {
                    output::print_object(out, Kind::Status, &status, format, &context)
                }
                _ => {
                    let adapter = body["adapter"].as_str().unwrap_or_default();
                    let _ = writeln!(
                        std::io::stderr(),
                        "hyperfleet: the report of adapter '{adapter}' was discarded as stale: the stored report \
                         has a higher observed_generation"
                    );
                    Ok(())
                }
            }
        }
    }
}

async fn events(api: &Api, action: EventAction, format: OutputFormat, out: &mut dyn Write) -> Result<(), ClientError> {
    match action {
        EventAction::List(list) => {
            let filters = event_filters(&list.filters);
            let listing = if list.pages.all {
                all_events(api, list.after.unwrap_or(0), filters, list.pages.page_size).await?
            } else {
                let mut query = filters;
                if let Some(after) = list.after {
                    query.push(("after", after.to_string()));
                }
                fetch_list(api, &format!("{V1}/events"), query, &list.pages).await?
            };
            print_listing(out, Kind::Event, &listing, format, list.raw, &Context::new())
        }
        EventAction::Watch(watch) => {
            let filters = event_filters(&watch.filters);
            tokio::select! {
                result = watch::follow(api, &watch, filters, format, out) => result,
                // Ctrl-C is how a watch is meant to end.
                _ = tokio::signal::ctrl_c() => Ok(()),
            }
        }
    }
}

// ----- lists ----------------------------------------------------------------------------------

/// One page as the server sent it, or every page's items.
enum Listing {
    Page(Value),
    All(Vec<Value>),
}

impl Listing {
    fn items(&self) -> &[Value] {
        match self {
            Listing::Page(page) => page["items"].as_array().map(Vec::as_slice).unwrap_or_default(),
            Listing::All(items) => items,
        }
    }
}

/// Page size of `--all` when none is given: the server's maximum, so the fewest requests.
const ALL_PAGE_SIZE: u32 = 1000;

fn search_query(search: &Option<String>, order_by: &Option<String>) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if let Some(search) = search {
        query.push(("search", search.clone()));
    }
    if let Some(order_by) = order_by {
        query.push(("orderBy", order_by.clone()));
    }
    query
}

async fn fetch_list(
    api: &Api,
    path: &str,
    mut query: Vec<(&'static str, String)>,
    pages: &PageArgs,
) -> Result<Listing, ClientError> {
    if !pages.all {
        if let Some(page) = pages.page {
            query.push(("page", page.to_string()));
        }
        if let Some(size) = pages.page_size {
            query.push(("pageSize", size.to_string()));
        }
        return Ok(Listing::Page(api.get(path, &query).await?));
    }
    let size = pages.page_size.unwrap_or(ALL_PAGE_SIZE);
    query.push(("pageSize", size.to_string()));
    let mut items = Vec::new();
    for page in 1u32.. {
        let mut page_query = query.clone();
        page_query.push(("page", page.to_string()));
        let list = api.get(path, &page_query).await?;
        let batch = list["items"].as_array().cloned().unwrap_or_default();
        let total = list["total"].as_u64().unwrap_or_default();
        let short = batch.len() < size as usize;
        items.extend(batch);
        if short || items.len() as u64 >= total {
            break;
        }
    }
    Ok(Listing::All(items))
}

/// Every event after `after`, paged by id rather than by page number, so events written while
/// paging neither shift nor repeat items.
async fn all_events(
    api: &Api,
    mut after: u64,
    filters: Vec<(&'static str, String)>,
    page_size: Option<u32>,
) -> Result<Listing, ClientError> {
    let size = page_size.unwrap_or(ALL_PAGE_SIZE);
    let mut items = Vec::new();
    loop {
        let mut query = filters.clone();
        query.push(("after", after.to_string()));
        query.push(("pageSize", size.to_string()));
        let list = api.get(&format!("{V1}/events"), &query).await?;
        let batch = list["items"].as_array().cloned().unwrap_or_default();
        let last = batch.last().and_then(|event| event["id"].as_str()).and_then(|id| id.parse::<u64>().ok());
        let short = batch.len() < size as usize;
        items.extend(batch);
        match last {
            Some(id) if !short && id > after => after = id,
            _ => break,
        }
    }
    Ok(Listing::All(items))
}

fn print_listing(
    out: &mut dyn Write,
    kind: Kind,
    listing: &Listing,
    format: OutputFormat,
    raw: bool,
    context: &Context,
) -> Result<(), ClientError> {
    match listing {
        Listing::Page(page) if raw && matches!(format, OutputFormat::Json | OutputFormat::Yaml) => {
            output::print_document(out, page, format)?
        }
        _ => output::print_items(out, kind, listing.items(), format, context)?,
    }
    // A table shows no totals; say when it is not the whole list rather than let it pass for it.
    if let (Listing::Page(page), OutputFormat::Table) = (listing, format) {
        let (shown, total) = (listing.items().len() as u64, page["total"].as_u64().unwrap_or_default());
        if shown > 0 && total > shown {
            let _ = writeln!(
                std::io::stderr(),
                "hyperfleet: showing {shown} of {total} {} (page {}); use --page, --page-size or --all for the others",
                kind.plural(),
                page["page"]
            );
        }
    }
    Ok(())
}

/// Cluster names of the node pools' owners, for the CLUSTER column: one search per 80 ids,
/// which keeps each `id in (…)` well under the 4096-character search limit.
async fn cluster_names(api: &Api, pools: &[Value]) -> Result<HashMap<String, String>, ClientError> {
    let mut ids: Vec<&str> = pools.iter().filter_map(|pool| pool["owner_references"]["id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut names = HashMap::new();
    for chunk in ids.chunks(80) {
        let quoted: Vec<String> = chunk.iter().map(|id| resolve::quote(id)).collect();
        let query = [("search", format!("id in ({})", quoted.join(", "))), ("pageSize", "1000".to_owned())];
        let list = api.get(&format!("{V1}/clusters"), &query).await?;
        for cluster in list["items"].as_array().map(Vec::as_slice).unwrap_or_default() {
            if let (Some(id), Some(name)) = (cluster["id"].as_str(), cluster["name"].as_str()) {
                names.insert(id.to_owned(), name.to_owned());
            }
        }
    }
    Ok(names)
}

fn event_filters(filters: &EventFilters) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    let join = |values: Vec<String>| values.join(",");
    if !filters.source.is_empty() {
        query.push(("source", join(filters.source.iter().map(value_name).collect())));
    }
    if let Some(source_id) = &filters.source_id {
        query.push(("source_id", source_id.clone()));
    }
    if !filters.event_type.is_empty() {
        query.push(("event_type", join(filters.event_type.iter().map(value_name).collect())));
    }
    query
}

/// The API's spelling of a flag value (`Clusters`, `NodePools`, `Create`, …).
fn value_name(value: &impl clap::ValueEnum) -> String {
    value.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default()
}

// ----- writes ---------------------------------------------------------------------------------

fn create_body(create: &CreateArgs) -> Result<Value, ClientError> {
    let spec = match &create.spec {
        Some(source) => input::read_document(source)?,
        None => json!({}),
    };
    Ok(json!({"name": create.name, "spec": spec, "labels": input::labels(&create.labels)}))
}

async fn post(api: &Api, path: &str, body: Value) -> Result<Value, ClientError> {
    let reply = api.write(Method::POST, path, &body).await?;
    reply.body.ok_or_else(|| ClientError::BadAnswer(format!("the server's answer to POST {path} has no body")))
}

async fn patch_resource(api: &Api, found: &Found, patch: &PatchArgs) -> Result<Value, ClientError> {
    let mut body = json!({});
    if let Some(source) = &patch.spec {
        body["spec"] = input::read_document(source)?;
    }
    if !patch.labels.is_empty() || patch.no_labels {
        body["labels"] = input::labels(&patch.labels);
    }
    let reply = api.write(Method::PATCH, &found.href, &body).await?;
    reply.body.ok_or_else(|| ClientError::BadAnswer("the server's answer to PATCH has no body".to_owned()))
}

/// Deletes and says `kind/name deleted`; the name comes from the resource itself.
async fn delete(api: &Api, found: Found, kind: Kind, out: &mut dyn Write) -> Result<(), ClientError> {
    let href = found.href.clone();
    let object = found.fetch(api).await?;
    api.send(api.request(Method::DELETE, &href)).await?;
    writeln!(out, "{}/{} deleted", kind.noun(), object["name"].as_str().unwrap_or_default())?;
    Ok(())
}

async fn status_owner(api: &Api, owner: &StatusOwner) -> Result<Found, ClientError> {
    match &owner.nodepool {
        Some(pool) => resolve::nodepool(api, Some(&owner.cluster), pool).await,
        None => resolve::cluster(api, &owner.cluster).await,
    }
}

fn report_body(report: &StatusReportArgs) -> Result<Value, ClientError> {
    if let Some(file) = &report.file {
        return input::read_document(file);
    }
    let data = report.data.as_deref().map(input::read_document).transpose()?;
    // clap's argument groups guarantee the adapter and the generation here.
    Ok(input::report(
        report.adapter.as_deref().unwrap_or_default(),
        report.generation.unwrap_or_default(),
        &report.conditions,
        data,
    ))
}
