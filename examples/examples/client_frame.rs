//! Decode a client frame built by hand, then encode it back to the same bytes.
use zk_proto::{decode_request, frame_len, Boundary, Encode, OpCode, RequestBody};

fn main() -> Result<(), zk_proto::DecodeError> {
    // getData("/app/config", watch=true) with xid 7: length prefix, xid, opcode, path, watch.
    let mut frame = vec![0, 0, 0, 0];
    frame.extend_from_slice(&7i32.to_be_bytes());
    frame.extend_from_slice(&OpCode::GetData.as_i32().to_be_bytes());
    frame.extend_from_slice(&11i32.to_be_bytes());
    frame.extend_from_slice(b"/app/config");
    frame.push(1);
    let len = (frame.len() - 4) as u32;
    frame[..4].copy_from_slice(&len.to_be_bytes());

    let Boundary::Complete(total) = frame_len(&frame, 1 << 20) else {
        unreachable!("the whole frame is here");
    };
    let request = decode_request(&frame[4..total])?;
    let RequestBody::GetData(body) = request.body else {
        unreachable!("opcode 4 is getData");
    };
    println!(
        "xid {} {} path {:?} watch {}",
        request.xid,
        request.opcode,
        request.body.path().map(|p| p.to_string()),
        body.watch
    );
    assert_eq!(request.to_bytes(), &frame[4..]);
    println!("re-encoded to the same {} bytes", frame.len() - 4);
    Ok(())
}
