(function(){
"use strict";
var NS="http://www.w3.org/2000/svg";
var data=JSON.parse(document.getElementById("qhub-data").textContent);
var COLORS=["#3b6fd4","#e0823d","#3aa675","#c94f6d","#8a63c9","#5fb3c4","#b59b2f","#7d8491","#d65db1","#4c9a2a","#a15c38","#2f4b7c"];
function el(name,attrs,text){var n=document.createElementNS(NS,name);for(var k in attrs){n.setAttribute(k,String(attrs[k]));}if(text!==undefined){n.textContent=String(text);}return n;}
function svg(id,w,h){var s=el("svg",{viewBox:"0 0 "+w+" "+h,role:"img"});var host=document.getElementById(id);host.appendChild(s);return s;}
function fmt(ms){return ms>=1000?(ms/1000).toFixed(2)+" s":ms>=1?ms.toFixed(1)+" ms":(ms*1000).toFixed(0)+" \u00b5s";}
function empty(id,msg){var p=document.createElement("p");p.textContent=msg;document.getElementById(id).appendChild(p);}
function bars(id,rows,label){
  if(!rows.length){empty(id,"No data.");return;}
  var w=960,rh=22,left=360,h=rows.length*rh+24,max=0;rows.forEach(function(r){max=Math.max(max,r.ms);});
  var s=svg(id,w,h);
  rows.forEach(function(r,i){var y=i*rh+4,bw=max?(w-left-90)*r.ms/max:0;
    var t=el("text",{x:left-8,y:y+14,"text-anchor":"end"},r.label);s.appendChild(t);
    var b=el("rect",{x:left,y:y+2,width:Math.max(1,bw),height:rh-6,fill:COLORS[i%COLORS.length],rx:2});
    b.appendChild(el("title",{},r.label+": "+fmt(r.ms)+(r.count!==undefined?" ("+r.count+" calls)":"")));s.appendChild(b);
    s.appendChild(el("text",{x:left+bw+6,y:y+14},fmt(r.ms)+(label&&r.count!==undefined?" \u00d7"+r.count:"")));});
}
function distributions(id,rows){
  if(!rows.length){empty(id,"No step samples.");return;}
  var w=960,rh=34,left=360,right=20,h=rows.length*rh+30,lo=Infinity,hi=0;
  rows.forEach(function(r){lo=Math.min(lo,Math.max(r.q[0],0.001));hi=Math.max(hi,r.q[5]);});
  if(hi<=lo){hi=lo*10;}
  var l0=Math.log10(lo),l1=Math.log10(hi);if(l1-l0<1){l0-=0.5;l1+=0.5;}
  function x(v){return left+(w-left-right)*(Math.log10(Math.max(v,lo))-l0)/(l1-l0);}
  var s=svg(id,w,h);
  for(var d=Math.ceil(l0);d<=Math.floor(l1);d++){var gx=x(Math.pow(10,d));
    s.appendChild(el("line",{x1:gx,x2:gx,y1:0,y2:h-20,"class":"grid"}));
    s.appendChild(el("text",{x:gx,y:h-6,"text-anchor":"middle"},fmt(Math.pow(10,d))));}
  rows.forEach(function(r,i){var y=i*rh+6,c=COLORS[i%COLORS.length],q=r.q;
    s.appendChild(el("text",{x:left-8,y:y+16,"text-anchor":"end"},r.label));
    s.appendChild(el("line",{x1:x(q[0]),x2:x(q[5]),y1:y+12,y2:y+12,stroke:c}));
    var box=el("rect",{x:x(q[1]),y:y+4,width:Math.max(1,x(q[3])-x(q[1])),height:16,fill:c,"fill-opacity":0.25,stroke:c});
    box.appendChild(el("title",{},"p25 "+fmt(q[1])+", p50 "+fmt(q[2])+", p75 "+fmt(q[3])+", p95 "+fmt(q[4])+", max "+fmt(q[5])));s.appendChild(box);
    s.appendChild(el("line",{x1:x(q[2]),x2:x(q[2]),y1:y+2,y2:y+22,stroke:c,"stroke-width":2}));
    s.appendChild(el("line",{x1:x(q[4]),x2:x(q[4]),y1:y+6,y2:y+18,stroke:c,"stroke-dasharray":"2,2"}));
    r.dots.forEach(function(v,j){s.appendChild(el("circle",{cx:x(v),cy:y+12+((j*7)%11)-5,r:1.5,fill:c,"fill-opacity":0.5}));});});
}
function lines(id,series,opts){
  var all=[];series.forEach(function(sr){sr.points.forEach(function(p){all.push(p);});});
  if(all.length<1){empty(id,opts.empty);return;}
  var w=960,h=260,l=60,r=20,t=14,b=36;
  var x0=Math.min.apply(null,all.map(function(p){return p[0];})),x1=Math.max.apply(null,all.map(function(p){return p[0];}));
  var y0=opts.zero?0:Math.min.apply(null,all.map(function(p){return p[1];})),y1=Math.max.apply(null,all.map(function(p){return p[1];}));
  if(x1===x0){x1=x0+1;}if(y1===y0){y1=y0+1;}
  function X(v){return l+(w-l-r)*(v-x0)/(x1-x0);}function Y(v){return h-b-(h-t-b)*(v-y0)/(y1-y0);}
  var s=svg(id,w,h);
  for(var i=0;i<=4;i++){var gv=y0+(y1-y0)*i/4,gy=Y(gv);s.appendChild(el("line",{x1:l,x2:w-r,y1:gy,y2:gy,"class":"grid"}));
    s.appendChild(el("text",{x:l-6,y:gy+4,"text-anchor":"end"},opts.yfmt(gv)));}
  s.appendChild(el("text",{x:w/2,y:h-6,"text-anchor":"middle"},opts.xlabel));
  series.forEach(function(sr,k){var c=COLORS[k%COLORS.length];
    var d=sr.points.map(function(p,j){return (j?"L":"M")+X(p[0]).toFixed(1)+" "+Y(p[1]).toFixed(1);}).join(" ");
    s.appendChild(el("path",{d:d,fill:"none",stroke:c,"stroke-width":2}));
    s.appendChild(el("text",{x:w-r-4,y:t+14+k*14,"text-anchor":"end",fill:c},sr.name));
    (sr.marks||[]).forEach(function(m){var p=sr.points[m.i];if(!p){return;}
      var mk=el("circle",{cx:X(p[0]),cy:Y(p[1]),r:m.kind==="baseline"?6:4,fill:m.kind==="baseline"?"#fff":c,stroke:m.kind==="baseline"?"#c0392b":c,"stroke-width":2});
      mk.appendChild(el("title",{},m.kind+": "+m.title));s.appendChild(mk);
      if(m.kind==="baseline"){s.appendChild(el("text",{x:X(p[0]),y:Y(p[1])-10,"text-anchor":"middle",fill:"#c0392b"},"baseline"));}});});
}
bars("chart-attribution",data.attribution,false);
bars("chart-steps",data.bars,true);
distributions("chart-distribution",data.distributions);
var marks=[];data.trend.forEach(function(t,i){if(t.baseline){marks.push({i:i,kind:"baseline",title:t.label});}if(t.current){marks.push({i:i,kind:"current",title:t.label});}});
lines("chart-trend",[{name:"wall time (s)",points:data.trend.map(function(t,i){return [i,t.wall/1000];}),marks:marks},
  {name:"step bodies (s)",points:data.trend.map(function(t,i){return [i,t.steps/1000];})}],
  {zero:true,xlabel:"run (oldest \u2192 newest)",empty:"No history yet.",yfmt:function(v){return v.toFixed(2)+" s";}});
var mem=[];Object.keys(data.memory).forEach(function(k){mem.push({name:"RSS MB ("+k+")",points:data.memory[k]});});
lines("chart-memory",mem,{zero:false,xlabel:"seconds since process start",empty:"Memory sampling was off.",yfmt:function(v){return v.toFixed(1)+" MB";}});
document.body.setAttribute("data-charts","ready");
})();
