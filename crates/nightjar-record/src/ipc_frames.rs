//! Checking the framing of an Arrow IPC stream before Arrow's reader sees it.
//!
//! Arrow's reader believes the lengths a stream declares: a damaged or hostile message that
//! declares a body of 184 GB makes it try to allocate that much (and abort the process), and
//! some damaged buffers make it panic. Every message header of an upload is therefore read here
//! first: its body must lie inside the bytes received, every buffer inside its body, and no
//! record batch may declare more rows than the limit. The stream must end with its
//! end-of-stream marker and nothing after it.

use arrow::ipc::{MessageHeader, root_as_message};

use crate::wire::WireError;

/// The marker that starts each message of the current IPC format.
const CONTINUATION: u32 = 0xFFFF_FFFF;

fn damaged(what: String) -> WireError {
    WireError::Unreadable(format!("the Arrow IPC stream is damaged: {what}"))
}

fn read_u32(ipc: &[u8], at: usize) -> Option<u32> {
    let bytes = ipc.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Checks every message of the stream `ipc`; `max_rows` bounds each record batch.
pub(crate) fn check_frames(ipc: &[u8], max_rows: usize) -> Result<(), WireError> {
    let mut at = 0usize;
    while at < ipc.len() {
        let mut length = read_u32(ipc, at).ok_or_else(|| damaged(format!("a message header is cut at byte {at}")))?;
        at += 4;
        if length == CONTINUATION {
            length = read_u32(ipc, at).ok_or_else(|| damaged(format!("a message length is cut at byte {at}")))?;
            at += 4;
        }
        if length == 0 {
            // End of stream: nothing may follow it, since nothing after it would be read or stored.
            return match ipc.len() - at {
                0 => Ok(()),
                trailing => Err(damaged(format!("{trailing} bytes follow the end-of-stream marker"))),
            };
        }
        let metadata_end = at
            .checked_add(length as usize)
            .filter(|end| *end <= ipc.len())
            .ok_or_else(|| damaged(format!("a message header of {length} bytes runs past the end at byte {at}")))?;
        let message = root_as_message(&ipc[at..metadata_end])
            .map_err(|error| damaged(format!("a message header does not parse ({error})")))?;
        let body = usize::try_from(message.bodyLength())
            .map_err(|_| damaged(format!("a negative body length at byte {at}")))?;
        let body_end = metadata_end.checked_add(body).filter(|end| *end <= ipc.len()).ok_or_else(|| {
            damaged(format!("a message declares a body of {body} bytes, but only {} remain", ipc.len() - metadata_end))
        })?;
        if message.header_type() == MessageHeader::RecordBatch {
            let batch =
                message.header_as_record_batch().ok_or_else(|| damaged("a record batch header is missing".into()))?;
            let rows = usize::try_from(batch.length()).map_err(|_| damaged("a negative row count".into()))?;
            if rows > max_rows {
                return Err(WireError::TooManyRows { limit: max_rows });
            }
            for node in batch.nodes().iter().flatten() {
                if node.length() < 0
                    || node.length() as usize > rows
                    || node.null_count() < 0
                    || node.null_count() > node.length()
                {
                    return Err(damaged(format!(
                        "a column declares {} values in a batch of {rows} rows",
                        node.length()
                    )));
                }
            }
            for buffer in batch.buffers().iter().flatten() {
                let inside = usize::try_from(buffer.offset())
                    .ok()
                    .zip(usize::try_from(buffer.length()).ok())
                    .and_then(|(offset, length)| offset.checked_add(length))
                    .is_some_and(|end| end <= body);
                if !inside {
                    return Err(damaged(format!(
                        "a buffer at offset {} of {} bytes lies outside its body of {body} bytes",
                        buffer.offset(),
                        buffer.length()
                    )));
                }
            }
        }
        at = body_end;
    }
    Err(damaged("the stream ends without its end-of-stream marker (cut short?)".into()))
}
