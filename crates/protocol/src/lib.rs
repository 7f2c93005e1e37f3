//! Wire types shared by the backend and the web client.
