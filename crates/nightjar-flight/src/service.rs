//! The Flight SQL service: statements, prepared statements, metadata, refusals.
//!
//! Statement and prepared-statement handles carry the SQL text itself, so the server keeps no
//! state between calls: `GetFlightInfo` plans the query (read-only check, result schema) and
//! `DoGet` runs it again from its ticket, within the engine's memory and time limits.
//!
//! Address columns (the stored 16-byte form) are sent as text, as `ip_text()` prints them; a
//! client that wants the 16 bytes selects `arrow_cast(src_ip, 'Binary')`.

use std::pin::Pin;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::ipc::writer::IpcWriteOptions;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest, ActionCreatePreparedStatementResult,
    CommandGetCatalogs, CommandGetDbSchemas, CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables,
    CommandPreparedStatementQuery, CommandPreparedStatementUpdate, CommandStatementIngest, CommandStatementQuery,
    CommandStatementSubstraitPlan, CommandStatementUpdate, DoPutPreparedStatementResult, ProstMessageExt, SqlInfo,
    TicketStatementQuery,
};
use arrow_flight::{
    FlightData, FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse, IpcMessage,
    SchemaAsIpc, Ticket,
};
use futures::{Stream, StreamExt, TryStreamExt, stream};
use nightjar_query::{QueryEngine, Statement, addresses_as_text, text_schema};
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use crate::auth::authenticate;
use crate::catalog;
use crate::error::{query_message, query_status};
use crate::tokens::TokenSet;

type DoGetStream = Pin<Box<dyn Stream<Item = Result<FlightData, Status>> + Send + 'static>>;
type HandshakeStream = Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>;

const READ_ONLY: &str = "Nightjar's Flight SQL server only reads the dataset";

/// The Flight SQL service over one [`QueryEngine`], shared by every call.
#[derive(Clone)]
pub struct NightjarFlightSql {
    engine: Arc<QueryEngine>,
    tokens: Arc<TokenSet>,
}

impl std::fmt::Debug for NightjarFlightSql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NightjarFlightSql").field("engine", &self.engine).finish_non_exhaustive()
    }
}

impl NightjarFlightSql {
    /// A service answering from `engine` to the holders of `tokens`.
    pub fn new(engine: Arc<QueryEngine>, tokens: Arc<TokenSet>) -> NightjarFlightSql {
        NightjarFlightSql { engine, tokens }
    }

    /// The analyst calling, or `Unauthenticated`.
    fn caller<T>(&self, request: &Request<T>) -> Result<String, Status> {
        authenticate(&self.tokens, request.metadata()).map(|(name, _token)| name)
    }

    /// The one statement of `sql`.
    fn statement(&self, sql: &str) -> Result<Statement, Status> {
        let mut statements = self.engine.parse(sql).map_err(query_status)?;
        match (statements.pop_front(), statements.is_empty()) {
            (Some(statement), true) => Ok(statement),
            (None, _) => Err(Status::invalid_argument("no SQL statement given")),
            (Some(_), false) => Err(Status::invalid_argument("one SQL statement per query, got several")),
        }
    }

    /// The schema clients get for `sql`, after the read-only check, without running it.
    async fn result_schema(&self, sql: &str) -> Result<SchemaRef, Status> {
        let schema = self.engine.schema(self.statement(sql)?).await.map_err(|error| {
            tracing::info!(sql, error = %query_message(&error), "statement refused");
            query_status(error)
        })?;
        Ok(text_schema(&schema))
    }

    /// A `FlightInfo` for `sql` whose one endpoint's ticket is `ticket`.
    async fn info(&self, sql: &str, ticket: Vec<u8>, descriptor: FlightDescriptor) -> Result<FlightInfo, Status> {
        let schema = self.result_schema(sql).await?;
        let info = FlightInfo::new()
            .try_with_schema(&schema)
            .map_err(|error| Status::internal(format!("cannot encode the result schema: {error}")))?
            .with_endpoint(FlightEndpoint::new().with_ticket(Ticket::new(ticket)))
            .with_descriptor(descriptor)
            .with_ordered(true);
        Ok(info)
    }

    /// Runs `sql` and streams its rows, addresses as text; errors met while running (limits
    /// included) end the stream with their status.
    async fn run(&self, analyst: &str, sql: &str) -> Result<Response<DoGetStream>, Status> {
        tracing::info!(analyst, sql, "query");
        let rows = self.engine.stream(self.statement(sql)?).await.map_err(|error| {
            tracing::info!(analyst, error = %query_message(&error), "query refused");
            query_status(error)
        })?;
        let schema = text_schema(&datafusion::execution::RecordBatchStream::schema(&rows));
        let engine = Arc::clone(&self.engine);
        let batches = rows.map(move |batch| {
            let batch = batch.map_err(|error| query_status(engine.explain_error(error)))?;
            addresses_as_text(&batch)
                .map_err(|error| Status::internal(format!("cannot show addresses as text: {error}")))
        });
        Ok(encode(schema, batches.map_err(|status| FlightError::Tonic(Box::new(status)))))
    }

    /// A metadata answer as a one-batch stream.
    fn batch(batch: RecordBatch) -> Response<DoGetStream> {
        let schema = batch.schema();
        encode(schema, stream::iter([Ok(batch)]))
    }
}

fn encode(
    schema: SchemaRef,
    batches: impl Stream<Item = Result<RecordBatch, FlightError>> + Send + 'static,
) -> Response<DoGetStream> {
    let data = FlightDataEncoderBuilder::new().with_schema(schema).build(batches).map_err(Status::from);
    Response::new(Box::pin(data))
}

fn handle_text(handle: &[u8]) -> Result<&str, Status> {
    std::str::from_utf8(handle)
        .map_err(|_| Status::invalid_argument("the statement handle is not one of this server's"))
}

/// A `FlightInfo` for a metadata command answered by `DoGet` of the same command.
fn metadata_info(
    command: impl ProstMessageExt,
    schema: &arrow::datatypes::Schema,
    descriptor: FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    let ticket = Ticket::new(command.as_any().encode_to_vec());
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(|error| Status::internal(format!("cannot encode the metadata schema: {error}")))?
        .with_endpoint(FlightEndpoint::new().with_ticket(ticket))
        .with_descriptor(descriptor);
    Ok(Response::new(info))
}

fn refused(what: &str) -> Status {
    Status::permission_denied(format!(
        "{READ_ONLY}: {what} is refused. Run queries (SELECT, WITH, EXPLAIN, SHOW, DESCRIBE)."
    ))
}

#[tonic::async_trait]
impl FlightSqlService for NightjarFlightSql {
    type FlightService = NightjarFlightSql;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<HandshakeStream>, Status> {
        let (analyst, token) = authenticate(&self.tokens, request.metadata())?;
        tracing::info!(analyst, "handshake");
        let bearer = MetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| Status::unauthenticated("the token is not valid header text"))?;
        let answer = HandshakeResponse { protocol_version: 0, payload: token.into_bytes().into() };
        let mut response: Response<HandshakeStream> = Response::new(Box::pin(stream::iter([Ok(answer)])));
        response.metadata_mut().insert("authorization", bearer);
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(&request)?;
        let ticket = TicketStatementQuery { statement_handle: query.query.clone().into_bytes().into() };
        let info = self.info(&query.query, ticket.as_any().encode_to_vec(), request.into_inner()).await?;
        Ok(Response::new(info))
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let analyst = self.caller(&request)?;
        self.run(&analyst, handle_text(&ticket.statement_handle)?).await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<arrow_flight::Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        self.caller(&request)?;
        let schema = self.result_schema(&query.query).await?;
        let IpcMessage(dataset_schema) = SchemaAsIpc::new(&schema, &IpcWriteOptions::default())
            .try_into()
            .map_err(|error| Status::internal(format!("cannot encode the result schema: {error}")))?;
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: query.query.into_bytes().into(),
            dataset_schema,
            parameter_schema: Default::default(),
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        _query: ActionClosePreparedStatementRequest,
        request: Request<arrow_flight::Action>,
    ) -> Result<(), Status> {
        // Handles hold their SQL: there is nothing to free.
        self.caller(&request)?;
        Ok(())
    }

    async fn get_flight_info_prepared_statement(
        &self,
        command: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(&request)?;
        let sql = handle_text(&command.prepared_statement_handle)?.to_string();
        let info = self.info(&sql, command.as_any().encode_to_vec(), request.into_inner()).await?;
        Ok(Response::new(info))
    }

    async fn do_get_prepared_statement(
        &self,
        command: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let analyst = self.caller(&request)?;
        self.run(&analyst, handle_text(&command.prepared_statement_handle)?).await
    }

    async fn do_put_prepared_statement_query(
        &self,
        _query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        self.caller(&request)?;
        Err(Status::unimplemented("query parameters are not supported: put the values in the SQL text"))
    }

    async fn do_put_statement_update(
        &self,
        _ticket: CommandStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        self.caller(&request)?;
        Err(refused("an update statement"))
    }

    async fn do_put_statement_ingest(
        &self,
        _ticket: CommandStatementIngest,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        self.caller(&request)?;
        Err(refused("bulk ingestion"))
    }

    async fn do_put_prepared_statement_update(
        &self,
        _query: CommandPreparedStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        self.caller(&request)?;
        Err(refused("a prepared update statement"))
    }

    async fn do_put_substrait_plan(
        &self,
        _ticket: CommandStatementSubstraitPlan,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        self.caller(&request)?;
        Err(refused("a Substrait update plan"))
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(&request)?;
        let schema = query.into_builder().schema();
        metadata_info(query, &schema, request.into_inner())
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.caller(&request)?;
        Ok(Self::batch(catalog::catalogs(self.engine.context(), query)?))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(&request)?;
        let schema = query.clone().into_builder().schema();
        metadata_info(query, &schema, request.into_inner())
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.caller(&request)?;
        Ok(Self::batch(catalog::db_schemas(self.engine.context(), query)?))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(&request)?;
        let schema = query.clone().into_builder().schema();
        metadata_info(query, &schema, request.into_inner())
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.caller(&request)?;
        Ok(Self::batch(catalog::tables(self.engine.context(), query).await?))
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(&request)?;
        let schema = query.into_builder().schema();
        metadata_info(query, &schema, request.into_inner())
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.caller(&request)?;
        Ok(Self::batch(catalog::table_types(query)?))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(&request)?;
        let schema = query.clone().into_builder(catalog::sql_info()).schema();
        metadata_info(query, &schema, request.into_inner())
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.caller(&request)?;
        let batch = query
            .into_builder(catalog::sql_info())
            .build()
            .map_err(|error| Status::internal(format!("cannot encode the server info: {error}")))?;
        Ok(Self::batch(batch))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
