export * from './limits'
export * from './estimate'
