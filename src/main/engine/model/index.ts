export * from './config';
export * from './model';
export * from './masking';
export * from './optim';
export * from './train';
export { useBackend, type BackendName } from './backend';
export * as ops from './ops';
