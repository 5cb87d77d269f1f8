// Express 4 is installed under an alias for the compatibility tests; its types match Express's.
declare module 'express4' {
  import express from 'express';
  export default express;
}
